"""Reports as JSON or CSV (`?format=csv` or `Accept: text/csv`), streamed from a server-side cursor in
chunks: memory stays constant whatever the range, and the first chunk is read before the answer
starts, so a bad request or an unreachable database still gets an error envelope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import falcon

from .. import inventory, ledger, shapes, stock_shapes
from ..auth import ADMIN
from ..db import Database
from ..exports import csv_line
from ..filters import LEDGER_PARAMS, ledger_filters, summary_filters
from ..listing import json_items, row_chunks, started
from ..openapi import query, reads
from ..validation import query_choice

FORMATS = ("json", "csv")
FORMAT_PARAM = query("format", {"enum": list(FORMATS)}, "or send Accept: text/csv")
INVENTORY_PARAMS = [
    query("location_id", {"type": "integer", "minimum": 1}),
    query("article_id", {"type": "integer", "minimum": 1}),
    query("batch_id", {"type": "integer", "minimum": 1}),
    query("is_paint", {"enum": ["true", "false"]}),
    query("include_empty", {"enum": ["true", "false"]}),
]


def wants_csv(req: falcon.Request) -> bool:
    chosen = query_choice(req, "format", FORMATS)
    if chosen:
        return chosen == "csv"
    return req.client_prefers([falcon.MEDIA_JSON, "text/csv"]) == "text/csv"


class Report:
    """Streams one named statement's rows, keeping the columns in `fields`; `name` names the file."""

    def __init__(self, db: Database, statement: str, fields: tuple[str, ...], name: str):
        self.db = db
        self.statement = statement
        self.fields = fields
        self.name = name

    def answer(self, req: falcon.Request, resp: falcon.Response, params: dict[str, Any]) -> None:
        as_csv = wants_csv(req)
        chunks = started(row_chunks(self.db, self.statement, params, self.fields))
        if as_csv:
            resp.stream = self._csv(chunks)
            resp.content_type = "text/csv; charset=utf-8"
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            resp.set_header("Content-Disposition", f'attachment; filename="{self.name}-{stamp}.csv"')
        else:
            resp.stream = json_items(chunks, self.fields, paged=False)
            resp.content_type = falcon.MEDIA_JSON

    def _csv(self, chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
        """Every cell through service.exports: safe in a spreadsheet in any locale (SPEC §8)."""
        yield csv_line(self.fields).encode("utf-8")
        for rows in chunks:
            yield "".join(csv_line(row) for row in rows).encode("utf-8")


class InventoryReport:
    doc = {
        "get": reads(
            "Every inventory row (as the summary) as JSON or streamed CSV",
            shapes.Rows[stock_shapes.InventoryRow],
            access=ADMIN,
            params=[FORMAT_PARAM, *INVENTORY_PARAMS],
            csv=True,
        )
    }

    def __init__(self, db: Database):
        self.report = Report(db, inventory.SUMMARY_LIST, inventory.SUMMARY_FIELDS, "inventory")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.report.answer(req, resp, inventory.whole_summary(summary_filters(req)))


class TransactionsReport:
    doc = {
        "get": reads(
            "Every ledger row matching the filters, oldest first, as JSON or streamed CSV",
            shapes.Rows[stock_shapes.Transaction],
            access=ADMIN,
            params=[FORMAT_PARAM, *LEDGER_PARAMS],
            csv=True,
        )
    }

    def __init__(self, db: Database):
        self.report = Report(db, ledger.REPORT, ledger.TRANSACTION_FIELDS, "transactions")

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.report.answer(req, resp, ledger_filters(req))
