"""Reports as JSON, CSV (`?format=csv` or `Accept: text/csv`) or XLSX (`?format=xlsx` or its `Accept`),
read from a server-side cursor in chunks: memory stays constant whatever the range. JSON and CSV stream
as they are read, the first chunk read before the answer starts, so a bad request or an unreachable
database still gets an error envelope; an XLSX workbook is written whole to a temporary file first
(service/workbook.py) and then sent from it with its length."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import falcon
import msgspec

from .. import inventory, ledger, shapes, stock_reads
from ..auth import ADMIN
from ..db import Database
from ..exports import csv_line, timestamp
from ..filters import LEDGER_PARAMS, MOMENT, ledger_filters, summary_filters
from ..listing import json_items, row_chunks, started
from ..openapi import query, reads
from ..report_shapes import InventoryReportRow
from ..stock_shapes import Transaction
from ..validation import query_choice, query_moment
from ..workbook import MEDIA_XLSX, spooled_workbook
from . import Resource

FORMATS = ("json", "csv", "xlsx")
MEDIA_TYPES = {"json": falcon.MEDIA_JSON, "csv": "text/csv", "xlsx": MEDIA_XLSX}
FORMAT_PARAM = query("format", {"enum": list(FORMATS)}, f"or send Accept: text/csv or {MEDIA_XLSX}")
INVENTORY_PARAMS = [
    query("location_id", {"type": "integer", "minimum": 1}),
    query("article_id", {"type": "integer", "minimum": 1}),
    query("batch_id", {"type": "integer", "minimum": 1}),
    query("is_paint", {"enum": ["true", "false"]}),
    query("include_empty", {"enum": ["true", "false"]}),
]
AS_OF_PARAM = query(
    "as_of", MOMENT, "balances as they stood then (a date: at its end); the X-As-Of header names it"
)


def wanted_format(req: falcon.Request) -> str:
    """`?format=`, else the media type the Accept header prefers; JSON when neither says."""
    chosen = query_choice(req, "format", FORMATS)
    if chosen:
        return chosen
    preferred = req.client_prefers(list(MEDIA_TYPES.values()))
    return next((name for name, media in MEDIA_TYPES.items() if media == preferred), "json")


class Report(Resource):
    """A report: a named statement's rows, the columns of the `row` shape, as JSON, streamed CSV or an
    XLSX workbook (the files named after `name`). Each report says which, and reads its filters in its
    responder."""

    name: str
    statement: str
    row: type[msgspec.Struct]
    params: list[dict[str, Any]]
    fields: tuple[str, ...] = ()  # the columns in their order: the row's fields unless a report says
    access: str = ADMIN

    def __init__(self, db: Database, replica: Database | None = None):
        """Reads from `replica` (DATABASE_READ_URL's standby) when there is one, else from `db`."""
        super().__init__(replica or db)
        self.served_by = "replica" if replica else "primary"
        self.fields = self.fields or self.row.__struct_fields__
        self.doc = {
            "get": reads(
                shapes.Rows[self.row], access=self.access, params=[FORMAT_PARAM, *self.params], files=True
            )
        }

    def answer(
        self, req: falcon.Request, resp: falcon.Response, params: dict[str, Any], statement: str = ""
    ) -> None:
        wanted = wanted_format(req)
        chunks = started(row_chunks(self.db, statement or self.statement, params, self.fields))
        if wanted == "json":
            resp.stream = json_items(chunks, self.fields, paged=False)
            resp.content_type = falcon.MEDIA_JSON
            return
        if wanted == "csv":
            resp.stream = self._csv(chunks)
            resp.content_type = "text/csv; charset=utf-8"
        else:
            resp.set_stream(*spooled_workbook(self.name, self.fields, chunks))
            resp.content_type = MEDIA_XLSX
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        resp.set_header("Content-Disposition", f'attachment; filename="{self.name}-{stamp}.{wanted}"')

    def _csv(self, chunks: Iterator[list[tuple]]) -> Iterator[bytes]:
        """Every cell through service.exports: safe in a spreadsheet in any locale (SPEC §8)."""
        yield csv_line(self.fields).encode("utf-8")
        for rows in chunks:
            yield "".join(csv_line(row) for row in rows).encode("utf-8")


class InventoryReport(Report):
    name, statement, row = "inventory", inventory.SUMMARY_LIST, InventoryReportRow
    params = [*INVENTORY_PARAMS, AS_OF_PARAM]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every inventory row (as the summary) as JSON, streamed CSV or XLSX; with `as_of`, as it stood then.

        With `as_of` (a date: its end; a timestamp; later than now: now) each (location, batch) balance
        is the sum of its ledger rows up to that instant, which the X-As-Of header names."""
        filters, before = summary_filters(req), query_moment(req, "as_of", end=True)
        if before is None:
            return self.answer(req, resp, inventory.whole_summary(filters))
        instant = stock_reads.as_of_instant(before)
        resp.set_header("X-As-Of", timestamp(instant))
        self.answer(req, resp, {**filters, "as_of": instant}, stock_reads.INVENTORY_AS_OF)


class TransactionsReport(Report):
    name, statement, row, params = "transactions", ledger.REPORT, Transaction, LEDGER_PARAMS
    fields = ledger.TRANSACTION_FIELDS

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every ledger row matching the filters, oldest first, as JSON, streamed CSV or XLSX."""
        self.answer(req, resp, ledger_filters(req))
