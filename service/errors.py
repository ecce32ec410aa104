"""Typed application errors, and `REFUSALS`: the one table from a statement's outcome code to its error.

The envelope they are rendered in is service/envelope.py's."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
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


# --- refusals ------------------------------------------------------------------------------------------
# A write statement answers with an `outcome`: a success (create, replay, approved, ...) or a refusal code,
# whose error this table makes. Domain code calls `refuse(row["outcome"], **context)`; `context` holds what
# the messages name (the row's figures, the subject of a not-found, the request's client_event_id).

BATCH_RULE = "Paint batch codes are 4-5 or 9-12 digits (0-9), nothing else."
LINE_PROBLEMS = {
    # code: (status, message, field); the most fundamental kind present (this order) names the error
    "ARTICLE_NOT_FOUND": (404, "Article not found.", "article_id"),
    "BATCH_NOT_FOUND": (404, "Batch not found.", "batch_id"),
    "BATCH_REQUIRED": (400, "Paint lines need a batch_id.", "batch_id"),
    "BATCH_ARTICLE_MISMATCH": (400, "The batch belongs to another article.", "batch_id"),
    "ARTICLE_ARCHIVED": (409, "The article is archived and takes no new drafts.", "article_id"),
    "BATCH_INACTIVE": (409, "The batch is inactive and takes no new drafts.", "batch_id"),
}
RECEIPT_PROBLEMS = {
    "ARTICLE_NOT_FOUND": (404, "Article not found.", "article_id"),
    "BATCH_REQUIRED": (400, "Paint lines need a batch_code.", "batch_code"),
    "INVALID_BATCH_FORMAT": (400, BATCH_RULE, "batch_code"),
    "EXPIRY_REQUIRED": (400, "Paint lines need an expiry_date.", "expiry_date"),
    "ARTICLE_ARCHIVED": (409, "The article is archived and takes no receipts.", "article_id"),
    "BATCH_INACTIVE": (409, "The batch is inactive and takes no receipts.", "batch_code"),
    "BATCH_EXPIRY_MISMATCH": (409, "The batch has another expiry date.", "expiry_date"),
}
MAX_BALANCE = Decimal("999999999.99")  # the most one balance may hold (sql/inventory.sql refuses past it)


def _location_not_found(location_id=None, default_location_code=None, **_) -> NotFound:
    if location_id is None:
        return NotFound(
            "location",
            f"The default location {default_location_code!r} does not exist.",
            location_code=default_location_code,
        )
    return NotFound("location", id=location_id)


def _duplicate(client_event_ids, **_) -> Conflict:
    return Conflict(
        "DUPLICATE_EVENT_ID",
        f"client_event_id {client_event_ids[0]!r} was already used for a different request.",
        client_event_ids=client_event_ids,
    )


def _out_of_range(target, current_qty, requested_qty, **where) -> Conflict:
    """409 for a move that would take a balance past MAX_BALANCE; details stay scalars."""
    return Conflict(
        "BALANCE_OUT_OF_RANGE",
        f"The {target} would be {requested_qty}, above the maximum of {MAX_BALANCE} a balance may hold.",
        target=target,
        **{k: where[k] for k in ("line", "article_id", "batch_id", "batch_code") if k in where},
        current_qty=current_qty,
        requested_qty=requested_qty,
        maximum_qty=MAX_BALANCE,
    )


REFUSALS: dict[str, Callable[..., AppError]] = {
    # shared
    "location_not_found": _location_not_found,
    "duplicate_event": _duplicate,
    "out_of_range": _out_of_range,
    "article_not_found": lambda **_: NotFound("article"),
    "batch_not_found": lambda **_: NotFound("batch"),
    "batch_article_mismatch": lambda **_: AppError(
        "The batch belongs to another article.",
        code="BATCH_ARTICLE_MISMATCH",
        details={"fields": {"batch_id": "belongs to another article"}},
    ),
    # draft groups and drafts (sql/draft_groups.sql, sql/drafts.sql)
    "not_found": lambda subject, id, **_: NotFound(subject, id=id),
    "invalid_lines": lambda problems, prefix, **_: line_problems(
        problems, LINE_PROBLEMS, prefix, ("article_id", "batch_id")
    ),
    "not_draft": lambda **_: Conflict("GROUP_NOT_DRAFT", "The group was already approved or rejected."),
    "empty": lambda **_: Conflict("GROUP_EMPTY", "The group has no lines."),
    "group_required": lambda **_: Conflict(
        "GROUP_APPROVAL_REQUIRED",
        "This draft belongs to a group of several lines; approve or reject the group.",
    ),
    "short": lambda rows, **_: InsufficientStock(
        [
            {**row, "draft_id": row["id"], "required_kg": row["quantity_kg"]}
            for row in rows
            if row["shortage_kg"] > 0
        ]
    ),
    "not_editable": lambda **_: Conflict("DRAFT_NOT_EDITABLE", "Only DRAFT lines can be edited."),
    # inventory (sql/inventory.sql)
    "invalid_receipt_lines": lambda problems, prefix, **_: line_problems(
        problems,
        RECEIPT_PROBLEMS,
        prefix,
        ("article_id", "batch_code", "expiry_date", "existing_expiry_date"),
    ),
    "article_archived": lambda **_: Conflict(
        "ARTICLE_ARCHIVED", "The article is archived; restore it to count it."
    ),
    "batch_inactive": lambda **_: Conflict(
        "BATCH_INACTIVE", "The batch is inactive; reactivate it to count it."
    ),
    "shortage_too_large": lambda max_lines, **_: Conflict(
        "SHORTAGE_TOO_LARGE",
        f"The shortage needs more than {max_lines} draft lines of 9999.99; use an adjustment.",
        max_lines=max_lines,
    ),
    "negative": lambda target, current_qty, requested_qty, **_: Conflict(
        "NEGATIVE_INVENTORY_NOT_ALLOWED",
        f"The {target} would go below zero.",
        target=target,
        current_qty=current_qty,
        requested_qty=requested_qty,
    ),
    # catalog (sql/articles.sql, sql/batches.sql, sql/locations.sql): the REFUSED tables of
    # service/articles.py, service/batches.py and service/locations.py, added when each is imported
    # accounts (sql/users.sql, sql/auth.sql; an unknown user is the shared not_found)
    "duplicate_username": lambda username, **_: Conflict(
        "DUPLICATE_USERNAME", f"The username {username!r} is taken.", username=username
    ),
    "last_admin": lambda **_: Conflict(
        "LAST_ADMIN", "The last active admin cannot be demoted or deactivated."
    ),
    "invalid_token": lambda **_: Unauthorized(
        "INVALID_TOKEN", "The refresh token is unknown, expired or revoked; sign in again."
    ),
}


def refuse(outcome: str, **context: Any) -> None:
    """Raises the error `outcome` stands for; returns when it is not a refusal (a success)."""
    make = REFUSALS.get(outcome)
    if make is not None:
        raise make(**context)
