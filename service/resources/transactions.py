"""The ledger, read-only: `GET /api/transactions` with every filter, newest first, keyset-paginated."""

from __future__ import annotations

from typing import Any

import falcon

from .. import shapes, stock_shapes
from ..auth import ADMIN
from ..db import Database
from ..errors import ValidationFailed
from ..openapi import operation, query
from ..pagination import LIST_PARAMS, Page
from ..validation import ID, query_choice, query_int, query_moment, query_param
from .inventory import order_number

TX_TYPES = ("WEIGH_IN", "SURPLUS_CONSUMED", "STOCK_CONSUMED", "INVENTORY_ADJUSTMENT", "STOCK_RECEIPT")
BUCKETS = ("STOCK", "SURPLUS")
TRANSACTION_FIELDS = stock_shapes.Transaction.__struct_fields__
MOMENT = {
    "type": "string",
    "minLength": 1,
    "description": "YYYY-MM-DD or an ISO 8601 timestamp (UTC without offset)",
}
FILTER_PARAMS = [
    query("tx_type", {"enum": list(TX_TYPES)}),
    query("bucket", {"enum": list(BUCKETS)}),
    query("location_id", ID),
    query("article_id", ID),
    query("batch_id", ID),
    query("order_number", {"type": "string"}, "trimmed and upper-cased, exact"),
    query("from", MOMENT, "occurred_at on or after"),
    query("to", MOMENT, "occurred_at on or before (a date: that whole day)"),
]


def ledger_filters(req: falcon.Request) -> dict[str, Any]:
    """The filters of the ledger list and the transactions report."""
    problems: dict[str, str] = {}
    raw_order = query_param(req, "order_number")
    filters = {
        "tx_type": query_choice(req, "tx_type", TX_TYPES),
        "bucket": query_choice(req, "bucket", BUCKETS),
        "location_id": query_int(req, "location_id"),
        "article_id": query_int(req, "article_id"),
        "batch_id": query_int(req, "batch_id"),
        "order_number": order_number(raw_order, problems) if raw_order else None,
        "from": query_moment(req, "from"),
        "before": query_moment(req, "to", end=True),
    }
    if problems:
        raise ValidationFailed(problems)
    return filters


class Transactions:
    doc = {
        "get": operation(
            "The ledger, newest first, with readable names (no total)",
            access=ADMIN,
            response=shapes.LedgerPage[stock_shapes.Transaction],
            params=[*LIST_PARAMS, *FILTER_PARAMS],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        rows = self.db.query("list_transactions", {**ledger_filters(req), **page.params()})
        resp.media = page.answer(rows)
