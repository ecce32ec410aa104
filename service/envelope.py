"""The one place that turns every error into the SPEC §7 envelope: `{"error": {code, message, details}}`."""

from __future__ import annotations

import logging
from typing import Any

import falcon
import psycopg
import psycopg_pool

from .errors import AppError

log = logging.getLogger("weighin.errors")

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
