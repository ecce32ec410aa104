"""Query-string filters that a list and its report share: read from the request, with their parameters
for /openapi.json."""

from __future__ import annotations

from typing import Any

import falcon

from .errors import ValidationFailed
from .inventory import order_number
from .ledger import BUCKETS, TX_TYPES
from .openapi import query
from .validation import ID, query_bool, query_choice, query_int, query_moment, query_param

MOMENT = {
    "type": "string",
    "minLength": 1,
    "description": "YYYY-MM-DD or an ISO 8601 timestamp (UTC without offset)",
}
LEDGER_PARAMS = [
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


def summary_filters(req: falcon.Request) -> dict[str, Any]:
    """The filters of the inventory summary and the inventory report."""
    return {
        "location_id": query_int(req, "location_id"),
        "article_id": query_int(req, "article_id"),
        "batch_id": query_int(req, "batch_id"),
        "is_paint": query_bool(req, "is_paint"),
        "include_empty": bool(query_bool(req, "include_empty")),
    }
