"""Batches (manufacturer lots) of an article: the FEFO list, creation under the batch-code rule, edits.

Each function takes the database it runs on (`db`: the `Database`, or the `Unit` of a keyed request)
and plain values; it returns rows in the answer's shape, or raises the error of a refusal
(service/refusals.py). Statements: sql/batches.sql.
"""

from __future__ import annotations

from typing import Any

from . import shapes
from .articles import active_filter, article_no
from .db import REPEATABLE_READ, Database
from .refusals import refuse

BATCH_FIELDS = shapes.Batch.__struct_fields__
LISTED_BATCH_FIELDS = shapes.ListedBatch.__struct_fields__


# --- reading ------------------------------------------------------------------------------------------


def list_filters(article: str, active: str | None) -> dict[str, Any]:
    """Parameters of `count_batches`: the article (the `{article}` path field, an article_no) and which
    batches (see `articles.active_filter`)."""
    return {"article_no": article_no(article), "active": active_filter(active)}


def list_params(
    filters: dict[str, Any], location_id: int | None, after: list | None, limit: int | None
) -> dict[str, Any]:
    """Parameters of `list_batches`: the rows after `after` (a cursor's expiry and batch code); every
    row without `limit`; quantities at `location_id` only, when given."""
    return {
        **filters,
        "location_id": location_id,
        "after_expiry": after[0] if after else None,
        "after_code": after[1] if after else None,
        "limit": limit,
    }


def list_batches(db: Database, filters: dict[str, Any], params: dict[str, Any]) -> tuple[list[dict], int]:
    """(rows, total) of the article's batches in FEFO order, each row with its `sort_expiry`; see
    `listed_batch`."""
    rows, found = db.transaction(
        ("list_batches", params), ("count_batches", filters), isolation=REPEATABLE_READ
    )
    if found is None:
        refuse("article_no_not_found", article_no=filters["article_no"])
    return rows, found["total"]


def check_article(db: Database, filters: dict[str, Any]) -> None:
    """Refuses a list of an article that does not exist (before a whole list is streamed)."""
    if db.query("count_batches", filters) is None:
        refuse("article_no_not_found", article_no=filters["article_no"])


def listed_batch(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "sort_expiry"}


# --- writing ------------------------------------------------------------------------------------------


def create(
    db: Database,
    article_id: int,
    batch_code: str,
    *,
    expiry_date: str | None,
    received_date: str | None,
    note: str | None,
) -> dict:
    """A new batch of a paint article."""
    params = {
        "article_id": article_id,
        "batch_code": batch_code,
        "expiry_date": expiry_date,
        "received_date": received_date,
        "note": note,
    }
    result = db.query("create_batch", params)
    refuse(result["outcome"], subject="article", id=article_id, article_id=article_id, batch_code=batch_code)
    return {field: result[field] for field in BATCH_FIELDS}


def edit(db: Database, batch_id: int, changes: dict[str, Any]) -> dict:
    """Changes a batch's note and is_active, and sets its expiry only while it is unset."""
    params = {
        "id": batch_id,
        "set_note": "note" in changes,
        "note": changes.get("note"),
        "is_active": changes.get("is_active"),
        "expiry_date": changes.get("expiry_date"),
    }
    verdict, row = db.transaction(("update_batch", params), ("batch_detail", {"id": batch_id}))
    refuse(
        verdict["outcome"], subject="batch", id=batch_id, current_expiry_date=verdict["current_expiry_date"]
    )
    return row


# --- refusals -----------------------------------------------------------------------------------------
