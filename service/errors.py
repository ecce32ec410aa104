"""Typed application errors and the one place that turns every error into the SPEC §7 envelope."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import psycopg
import psycopg_pool

log = logging.getLogger("weighin.errors")


class AppError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}
        self.headers = headers or {}


class ValidationFailed(AppError):
    status, code = 400, "VALIDATION_ERROR"

    def __init__(self, fields: dict[str, str], message: str | None = None):
        # SPEC §7 keeps `details.fields` a map; the message names every problem as well, for clients that
        # show only the message (the older desktop app renders the map as "[object Object]")
        named = "; ".join(f"{path} {problem}" for path, problem in fields.items())
        super().__init__(message or f"The request has invalid fields: {named}.", details={"fields": fields})


class Unauthorized(AppError):
    status, code = 401, "INVALID_TOKEN"

    def __init__(self, code: str, message: str):
        super().__init__(message, code=code, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status, code = 403, "FORBIDDEN"


class NotFound(AppError):
    status = 404

    def __init__(self, thing: str, message: str | None = None, **details: Any):
        super().__init__(
            message or f"{thing.replace('_', ' ').capitalize()} not found.",
            code=f"{thing.upper()}_NOT_FOUND",
            details=details,
        )


class Conflict(AppError):
    status = 409

    def __init__(self, code: str, message: str, **details: Any):
        super().__init__(message, code=code, details=details)


SHORTAGE_FIGURES = (
    "draft_id",
    "article_id",
    "article_no",
    "batch_id",
    "batch_code",
    "required_kg",
    "available_stock_kg",
    "available_surplus_kg",
    "shortage_kg",
)


class InsufficientStock(Conflict):
    """409 for a booking some of whose lines the balances cannot serve (nothing was booked).

    The message names each short line as a person reads it; `details` holds the figures column-wise, one
    array per figure with one element per short line (line i is element i of every array). Every details
    value is an array of scalars, so clients that render `key: value` pairs (the older desktop app) show
    them as comma-separated figures instead of "[object Object]"."""

    def __init__(self, short_lines: list[dict[str, Any]]):
        named = "; ".join(
            f"{line['article_no']} batch {line['batch_code']} is {line['shortage_kg']:.2f} kg short"
            for line in short_lines
        )
        count = len(short_lines)
        super().__init__(
            "INSUFFICIENT_STOCK",
            f"Not enough stock and surplus for {count} line{'s' if count != 1 else ''}; nothing was booked. "
            f"{named}.",
            **{figure: [line[figure] for line in short_lines] for figure in SHORTAGE_FIGURES},
        )


def line_problems(
    problems: list[dict[str, Any]],
    catalog: dict[str, tuple[int, str, str]],
    prefix: str,
    figures: tuple[str, ...],
) -> AppError:
    """The error for the lines a statement refused (`problems`: each with `n`, `code` and `figures`).

    The most fundamental kind of problem wins (the catalog's order: code -> status, message, field); its
    lines are named in the message and in `details.fields`, and every refused line's figures follow
    column-wise (`line`, then one array per figure), so no details value is an object."""
    code = min((p["code"] for p in problems), key=list(catalog).index)
    status, message, field = catalog[code]
    paths = [f"{prefix}[{p['n']}].{field}" if prefix else field for p in problems if p["code"] == code]
    columns = {"line": [p["n"] for p in problems], "problem": [p["code"] for p in problems]}
    columns |= {figure: [p.get(figure) for p in problems] for figure in figures}
    where = f" ({', '.join(paths)})" if prefix else ""
    return AppError(
        message.rstrip(".") + where + ".",
        code=code,
        status=status,
        details={"fields": dict.fromkeys(paths, message), **columns},
    )


class Busy(AppError):
    status, code = 503, "BUSY_RETRY"

    def __init__(
        self,
        message: str = "The database is busy with conflicting work; retry shortly.",
        retry_after: int = 1,
    ):
        super().__init__(
            message, details={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)}
        )


# Falcon's own errors keep their status; the code names what went wrong for a client.
_HTTP_CODES = {
    400: "VALIDATION_ERROR",
    401: "MISSING_TOKEN",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    411: "LENGTH_REQUIRED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMIT_EXCEEDED",
}


def _render(
    resp: falcon.Response,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    resp.status = status
    resp.media = {"error": {"code": code, "message": message, "details": details or {}}}
    if headers:
        resp.set_headers(headers)


def handle_app_error(req, resp, error: AppError, params) -> None:
    _render(resp, error.status, error.code, error.message, error.details, error.headers)


def handle_http_error(req, resp, error: falcon.HTTPError, params) -> None:
    status = error.status_code
    code = _HTTP_CODES.get(status, f"HTTP_{status}")
    if status == 404:
        message = "No such resource."
    elif status == 405:
        message = f"{req.method} is not allowed on this path."
    elif isinstance(error, falcon.MediaMalformedError):
        message = "The request body is not valid JSON."
    else:
        message = error.description or error.title or "The request could not be processed."
    details = {}
    if isinstance(error, falcon.MediaMalformedError):
        details = {"fields": {"body": "is not valid JSON"}}
    _render(resp, status, code, message, details, dict(error.headers or {}))


def handle_database_unavailable(req, resp, error: Exception, params) -> None:
    log.warning(
        "database unavailable: %s request_id=%s",
        type(error).__name__,
        getattr(req.context, "request_id", None),
    )
    _render(
        resp,
        503,
        "DATABASE_UNAVAILABLE",
        "The database is unavailable; retry shortly.",
        {"retry_after": 2},
        {"Retry-After": "2"},
    )


def handle_unexpected(req, resp, error: Exception, params) -> None:
    request_id = getattr(req.context, "request_id", None)
    log.exception("unhandled error request_id=%s", request_id)
    _render(
        resp,
        500,
        "INTERNAL_ERROR",
        "Something went wrong on our side; quote the request id when reporting it.",
        {"request_id": request_id},
    )


def install(app: falcon.App) -> None:
    # Falcon picks the handler registered for the most specific class in the error's MRO.
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http_error)
    app.add_error_handler(AppError, handle_app_error)
    app.add_error_handler(psycopg.OperationalError, handle_database_unavailable)
    app.add_error_handler(psycopg_pool.PoolTimeout, handle_database_unavailable)
