"""The audit trail (SPEC §10): who approved, rejected, edited or renamed which draft group, and who
transferred, counted or adjusted which stock, newest first (sql/audit.sql)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .db import Database
from .errors import ValidationFailed
from .stock_shapes import AuditEntry

ACTIONS = ("APPROVE", "REJECT", "EDIT", "RENAME", "TRANSFER", "COUNT", "ADJUST")
FIELDS = AuditEntry.__struct_fields__
NOT_A_CURSOR = {"cursor": "is not a cursor this API issued"}


def position(after: list | None) -> dict[str, Any]:
    """list_audit's keyset position after a cursor's values (at, kind, entry_id), or the first page's."""
    if after is None:
        return {"after_at": None, "after_kind": None, "after_id": None}
    at, kind, entry_id = after
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise ValidationFailed(NOT_A_CURSOR) from None
    if moment.tzinfo is None:
        raise ValidationFailed(NOT_A_CURSOR)
    return {"after_at": moment, "after_kind": kind, "after_id": entry_id}


def key(row: dict) -> list:
    return [row["at"].isoformat(), row["kind"], row["entry_id"]]


def entries(db: Database, filters: dict[str, Any], after: dict[str, Any], limit: int) -> list[dict]:
    """`limit` entries (one more when another page follows) after the position `after`; each keeps its
    keyset values (see `key`)."""
    return db.query("list_audit", {**filters, **after, "limit": limit + 1})


def item(row: dict) -> dict:
    return {field: row[field] for field in FIELDS}
