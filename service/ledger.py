"""The ledger, read-only: its transaction types and buckets, the fields of a row, and its pages
(sql/transactions.sql)."""

from __future__ import annotations

from typing import Any

from . import stock_shapes
from .db import Database

TX_TYPES = ("WEIGH_IN", "SURPLUS_CONSUMED", "STOCK_CONSUMED", "INVENTORY_ADJUSTMENT", "STOCK_RECEIPT")
BUCKETS = ("STOCK", "SURPLUS")
TRANSACTION_FIELDS = stock_shapes.Transaction.__struct_fields__
# every row matching the filters, oldest first (the transactions report)
REPORT = "report_transactions"


def transactions(db: Database, filters: dict[str, Any], page: dict) -> list[dict]:
    """One page of the ledger, newest first, with readable names. `page`: `limit` and `after_id`."""
    return db.query("list_transactions", {**filters, **page})
