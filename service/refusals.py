"""Refusals: a write statement answers with an `outcome`, a success (create, replay, approved, ...) or a
refusal code. REFUSALS is the one table from a refusal code to its typed error (service/errors.py);
domain code calls `refuse(row["outcome"], **context)`, where `context` holds what the error names (the
row's figures, the subject of a not-found). Codes are global: each names one error wherever it comes
from."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .errors import (
    BATCH_RULE,
    AppError,
    Conflict,
    InsufficientStock,
    InvalidBatchFormat,
    NotFound,
    Unauthorized,
    line_problems,
)

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
RECEIPT_FIGURES = ("article_id", "batch_code", "expiry_date", "existing_expiry_date")
MAX_BALANCE = Decimal("999999999.99")  # the most one balance may hold (sql/inventory.sql refuses past it)


def conflict(code: str, message: str, *named: str) -> Callable[..., Conflict]:
    """A 409 whose message is `message` formatted with the context, with the `named` figures as details."""
    return lambda **context: Conflict(code, message.format(**context), **{n: context[n] for n in named})


def _location_not_found(location_id=None, default_location_code=None, **_) -> NotFound:
    if location_id is None:
        message = f"The default location {default_location_code!r} does not exist."
        return NotFound("location", message, location_code=default_location_code)
    return NotFound("location", id=location_id)


def _out_of_range(target, current_qty, requested_qty, **where) -> Conflict:
    return Conflict(
        "BALANCE_OUT_OF_RANGE",
        f"The {target} would be {requested_qty}, above the maximum of {MAX_BALANCE} a balance may hold.",
        target=target,
        **{k: where[k] for k in ("line", "article_id", "batch_id", "batch_code") if k in where},
        current_qty=current_qty,
        requested_qty=requested_qty,
        maximum_qty=MAX_BALANCE,
    )


def _article_no_taken(article_no: str, existing_article_id: int | None = None, **_) -> Conflict:
    existing = {} if existing_article_id is None else {"existing_article_id": existing_article_id}
    message = f"The article_no {article_no!r} is taken."
    return Conflict("DUPLICATE_ARTICLE", message, article_no=article_no, **existing)


def _ambiguous_code(query: str, rows: list[dict], **_) -> Conflict:
    message = f"{len(rows)} articles share the {rows[0]['matched_by']} {query!r}; use the article_no."
    return Conflict("AMBIGUOUS_QUERY", message, query=query, article_nos=[row["article_no"] for row in rows])


def _alias_taken(alias: str, holder: dict, **_) -> Conflict:
    article_no = holder["holder_article_no"]
    message = f"The alias {alias!r} already names article {article_no!r}."
    return Conflict(
        "DUPLICATE_ALIAS", message, alias=alias, article_id=holder["holder_article_id"], article_no=article_no
    )


REFUSALS: dict[str, Callable[..., AppError]] = {
    # shared
    "not_found": lambda subject, id, **_: NotFound(subject, id=id),
    "location_not_found": _location_not_found,
    "article_not_found": lambda **_: NotFound("article"),
    "batch_not_found": lambda **_: NotFound("batch"),
    "duplicate_event": lambda client_event_ids, **_: Conflict(
        "DUPLICATE_EVENT_ID",
        f"client_event_id {client_event_ids[0]!r} was already used for a different request.",
        client_event_ids=client_event_ids,
    ),
    "out_of_range": _out_of_range,
    "batch_article_mismatch": lambda **_: AppError(
        "The batch belongs to another article.",
        code="BATCH_ARTICLE_MISMATCH",
        details={"fields": {"batch_id": "belongs to another article"}},
    ),
    # draft groups and drafts (sql/draft_groups.sql, sql/drafts.sql)
    "invalid_lines": lambda problems, prefix, **_: line_problems(
        problems, LINE_PROBLEMS, prefix, ("article_id", "batch_id")
    ),
    "not_draft": conflict("GROUP_NOT_DRAFT", "The group was already approved or rejected."),
    "empty": conflict("GROUP_EMPTY", "The group has no lines."),
    "group_required": conflict(
        "GROUP_APPROVAL_REQUIRED",
        "This draft belongs to a group of several lines; approve or reject the group.",
    ),
    "short": lambda rows, **_: InsufficientStock.of_approval(rows),
    "short_transfer": lambda rows, **_: InsufficientStock.of_transfer(rows),
    "not_editable": conflict("DRAFT_NOT_EDITABLE", "Only DRAFT lines can be edited."),
    # inventory (sql/inventory.sql)
    "invalid_receipt_lines": lambda problems, prefix, **_: line_problems(
        problems, RECEIPT_PROBLEMS, prefix, RECEIPT_FIGURES
    ),
    "article_archived": conflict("ARTICLE_ARCHIVED", "The article is archived; restore it to count it."),
    "batch_inactive": conflict("BATCH_INACTIVE", "The batch is inactive; reactivate it to count it."),
    "shortage_too_large": conflict(
        "SHORTAGE_TOO_LARGE",
        "The shortage needs more than {max_lines} draft lines of 9999.99; use an adjustment.",
        "max_lines",
    ),
    "negative": conflict(
        "NEGATIVE_INVENTORY_NOT_ALLOWED",
        "The {target} would go below zero.",
        "target",
        "current_qty",
        "requested_qty",
    ),
    # articles and aliases (sql/articles.sql)
    "article_no_not_found": lambda article_no, **_: NotFound("article", article_no=article_no),
    "unresolved_code": lambda query, **_: NotFound("article", query=query),
    "ambiguous_code": _ambiguous_code,
    "article_no_taken": _article_no_taken,
    "is_paint_locked": conflict(
        "ARTICLE_IN_USE", "is_paint can change only while the article has no batches.", "batches"
    ),
    "article_in_use": lambda counts, **_: Conflict(
        "ARTICLE_IN_USE", "The article is referenced; archive it instead.", **counts
    ),
    "alias_taken": _alias_taken,
    "alias_limit": lambda **_: Conflict(
        "ALIAS_LIMIT_REACHED", "An article has at most 5 aliases; delete one first.", limit=5
    ),
    "alias_not_found": lambda article_id, alias_id, **_: NotFound(
        "alias", article_id=article_id, alias_id=alias_id
    ),
    # batches and locations (sql/batches.sql, sql/locations.sql)
    "consumable": lambda **_: InvalidBatchFormat(
        "A consumable has no batches of its own: its stock sits on the system batch NA."
    ),
    "invalid_format": lambda **_: InvalidBatchFormat(),
    "batch_article_archived": conflict(
        "ARTICLE_ARCHIVED", "The article is archived and takes no new batches."
    ),
    "batch_code_taken": conflict(
        "DUPLICATE_BATCH", "The article already has a batch {batch_code!r}.", "article_id", "batch_code"
    ),
    "expiry_set": lambda current_expiry_date, **_: Conflict(
        "EXPIRY_ALREADY_SET",
        "The batch's expiry date is set and cannot change.",
        expiry_date=current_expiry_date,
    ),
    "location_code_taken": conflict(
        "DUPLICATE_LOCATION", "The location code {location_code!r} is taken.", "location_code"
    ),
    # accounts (sql/users.sql, sql/auth.sql)
    "duplicate_username": conflict("DUPLICATE_USERNAME", "The username {username!r} is taken.", "username"),
    "last_admin": conflict("LAST_ADMIN", "The last active admin cannot be demoted or deactivated."),
    "invalid_token": lambda **_: Unauthorized(
        "INVALID_TOKEN", "The refresh token is unknown, expired or revoked; sign in again."
    ),
}


def refuse(outcome: str, **context: Any) -> None:
    """Raises the error `outcome` stands for; returns when it is not a refusal (a success)."""
    make = REFUSALS.get(outcome)
    if make is not None:
        raise make(**context)
