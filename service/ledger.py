"""The ledger, read-only: its transaction types and buckets, the fields of a row, and its pages
(sql/transactions.sql)."""

from __future__ import annotations

from typing import Any

from .db import Database
from .stock_shapes import Transaction

TX_TYPES = (
    "WEIGH_IN",
    "SURPLUS_CONSUMED",
    "STOCK_CONSUMED",
    "INVENTORY_ADJUSTMENT",
    "STOCK_RECEIPT",
    "TRANSFER_OUT",
    "TRANSFER_IN",
)
BUCKETS = ("STOCK", "SURPLUS")
# every row matching the filters, oldest first (the transactions report)
REPORT = "report_transactions"
# its columns: the row's own head first, then where and what (Placed), then who and why
HEAD = ("id", "occurred_at", "tx_type", "bucket", "quantity_kg")
TRANSACTION_FIELDS = (*HEAD, *(field for field in Transaction.__struct_fields__ if field not in HEAD))


def transactions(db: Database, filters: dict[str, Any], page: dict) -> list[dict]:
    """One page of the ledger, newest first, with readable names. `page`: `limit` and `after_id`."""
    return db.query("list_transactions", {**filters, **page})
