"""Typed application errors. A statement's refusal becomes one of them through service/refusals.py's
table; service/envelope.py renders every error in SPEC §7's envelope."""

from __future__ import annotations

from typing import Any


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
# a transfer's short lines: its line index and bucket instead of a draft id
TRANSFER_SHORTAGE_FIGURES = ("line", "bucket", *SHORTAGE_FIGURES[1:])


class InsufficientStock(Conflict):
    """409 for a booking some of whose lines the balances cannot serve (nothing was booked).

    The message names each short line as a person reads it; `details` holds the figures column-wise, one
    array per figure with one element per short line (line i is element i of every array). Every details
    value is an array of scalars, so clients that render `key: value` pairs (the older desktop app) show
    them as comma-separated figures instead of "[object Object]"."""

    @classmethod
    def of_approval(cls, rows: list[dict[str, Any]]) -> InsufficientStock:
        """From approve_group's rows: the lines with a shortage."""
        short = [row for row in rows if row["shortage_kg"] > 0]
        return cls([{**row, "draft_id": row["id"], "required_kg": row["quantity_kg"]} for row in short])

    @classmethod
    def of_transfer(cls, rows: list[dict[str, Any]]) -> InsufficientStock:
        """From transfer_stock's rows: the lines the source's bucket cannot serve."""
        short = [{**row, "required_kg": row["quantity_kg"]} for row in rows if row["shortage_kg"] > 0]
        return cls(short, TRANSFER_SHORTAGE_FIGURES)

    def __init__(self, short_lines: list[dict[str, Any]], figures: tuple[str, ...] = SHORTAGE_FIGURES):
        named = "; ".join(
            f"{line['article_no']} batch {line['batch_code']} is {line['shortage_kg']:.2f} kg short"
            for line in short_lines
        )
        count = len(short_lines)
        super().__init__(
            "INSUFFICIENT_STOCK",
            f"Not enough stock and surplus for {count} line{'s' if count != 1 else ''}; nothing was booked. "
            f"{named}.",
            **{figure: [line[figure] for line in short_lines] for figure in figures},
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


BATCH_RULE = "Paint batch codes are 4-5 or 9-12 digits (0-9), nothing else."


class InvalidBatchFormat(AppError):
    status, code = 400, "INVALID_BATCH_FORMAT"

    def __init__(self, message: str | None = None):
        message = message or BATCH_RULE
        super().__init__(message, details={"fields": {"batch_code": message}})


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
