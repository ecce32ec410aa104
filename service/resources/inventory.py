"""Inventory: receiving, receipt history, counts, adjustments, the summary and the reconciliation: HTTP
in and out; the work is service/inventory.py's."""

from __future__ import annotations

import falcon

from .. import inventory, shapes, stock_shapes
from ..auth import ADMIN
from ..db import Database
from ..draft_groups import MAX_LINES
from ..errors import ValidationFailed
from ..filters import summary_filters
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import changes, creates, query, reads
from ..pagination import EXPIRY, LIST_PARAMS, Page
from ..validation import DATE, ID, QUANTITY, Schema, obj, query_date, query_param, text
from . import Resource

NOTE = {"anyOf": [text(1000, 0), {"type": "null"}]}

RECEIPT_LINE_INPUT = {
    "article_id": ID,
    "batch_code": {"anyOf": [text(50, 0), {"type": "null"}]},
    "quantity_kg": QUANTITY,
    "expiry_date": {"anyOf": [DATE, {"type": "null"}]},
    "note": NOTE,
}
RECEIVE = Schema(
    obj(
        {
            "order_number": text(100),
            "location_id": ID,
            "received_date": DATE,
            "client_event_id": text(100),
            **RECEIPT_LINE_INPUT,
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_LINES,
                "items": obj(RECEIPT_LINE_INPUT, ["article_id", "quantity_kg"]),
            },
        },
        ["order_number"],
    )
)
COUNT = Schema(
    obj(
        {
            "location_id": ID,
            "article_id": ID,
            "batch_id": ID,
            "counted_total_qty": QUANTITY,
            "note": NOTE,
            "client_event_id": text(100),
        },
        ["article_id", "batch_id", "counted_total_qty"],
    )
)
ADJUST = Schema(
    obj(
        {
            "location_id": ID,
            "article_id": ID,
            "batch_id": ID,
            "target": {"enum": ["stock", "surplus"]},
            "mode": {"enum": ["set", "delta"]},
            "quantity_kg": QUANTITY,
            "note": text(1000),
        },
        ["article_id", "batch_id", "target", "mode", "quantity_kg", "note"],
    )
)


class InventoryWrite:
    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code

    def key(self, body: dict) -> dict:
        """The (location, batch) a count or an adjustment names; without a location, the default one."""
        return {
            "location_id": body.get("location_id"),
            "article_id": body["article_id"],
            "batch_id": body["batch_id"],
            "default_location_code": self.default_location_code,
        }


class Receive(InventoryWrite):
    doc = {"post": creates(RECEIVE.schema, stock_shapes.Receipt, (404, 409, 503))}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Receive stock: one line or `lines`, all or none; a repeated client_event_id answers 200 with the
        first receipt and books nothing."""
        body = RECEIVE.parse(req)
        single = "lines" not in body
        given_line_fields = sorted(set(RECEIPT_LINE_INPUT) & set(body))
        if not single and given_line_fields:
            raise ValidationFailed(
                {f: "send either `lines` or the fields of one line, not both" for f in given_line_fields}
            )
        if single and (missing := [f for f in ("article_id", "quantity_kg") if f not in body]):
            raise ValidationFailed({f: "is required" for f in missing})
        answer, created = inventory.receive(
            db,
            req.context.user.id,
            body["order_number"],
            [body] if single else body["lines"],
            single=single,
            location_id=body.get("location_id"),
            received_date=body.get("received_date"),
            client_event_id=body.get("client_event_id"),
            default_location_code=self.default_location_code,
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = answer


class Receipts(Resource):
    doc = {
        "get": reads(
            stock_shapes.ReceiptHistory,
            access=ADMIN,
            params=[
                *LIST_PARAMS,
                query("order_number", {"type": "string"}, "trimmed and upper-cased, exact"),
                query("from", DATE, "received_date on or after"),
                query("to", DATE, "received_date on or before"),
            ],
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Receipt history, newest first, lines grouped per receipt."""
        page = Page(req)
        problems: dict[str, str] = {}
        raw_order = query_param(req, "order_number")
        filters = {
            "order_number": inventory.order_number(raw_order, problems) if raw_order else None,
            "from": query_date(req, "from"),
            "to": query_date(req, "to"),
        }
        if problems:
            raise ValidationFailed(problems)
        receipts, total = inventory.receipt_history(self.db, filters, page.params())
        body = page.answer(receipts, total)
        for item in body["items"]:
            del item["id"]
        # the older desktop client reads `history`, not `items` (SPEC §5)
        resp.media = {"history": body["items"], "total": body["total"], "next_cursor": body["next_cursor"]}


class Count(InventoryWrite):
    doc = {"post": changes(COUNT.schema, stock_shapes.Count, (404, 409, 503))}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Inventory count of one (location, batch): over adds surplus, under takes surplus first and drafts
        the rest as an INVENTORY_SHORTAGE group."""
        body = COUNT.parse(req)
        resp.media = inventory.count(
            db,
            req.context.user.id,
            **self.key(body),
            counted_total_qty=body["counted_total_qty"],
            note=body.get("note"),
            client_event_id=body.get("client_event_id"),
        )


class Adjust(InventoryWrite):
    doc = {"post": changes(ADJUST.schema, stock_shapes.Adjustment, (404, 409, 503))}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Set or change stock or surplus of one (location, batch) directly; never below zero."""
        body = ADJUST.parse(req)
        changes = {field: body[field] for field in ("target", "mode", "quantity_kg", "note")}
        resp.media = inventory.adjust(db, req.context.user.id, **self.key(body), **changes)


class Summary(Resource):
    doc = {
        "get": reads(
            shapes.Page[stock_shapes.InventoryRow],
            params=[
                *LIST_PARAMS,
                query("location_id", ID),
                query("article_id", ID),
                query("batch_id", ID),
                query("is_paint", {"enum": ["true", "false"]}),
                query("include_empty", {"enum": ["true", "false"]}),
            ],
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Balances per (location, batch) with pending_qty; rows with total 0 only with include_empty."""
        page = Page(req)
        after = inventory.summary_after(page.after_values(int, str, EXPIRY, str))
        filters = summary_filters(req)
        if wants_whole_list(req):
            params = inventory.whole_summary(filters)
            return answer_whole(resp, self.db, inventory.SUMMARY_LIST, params, inventory.SUMMARY_FIELDS)
        rows, total = inventory.summary(self.db, filters, after, page.limit)
        body = page.answer(rows, total, key=inventory.summary_key)
        body["items"] = [inventory.summary_item(row) for row in body["items"]]
        resp.media = body


class Reconcile(Resource):
    doc = {"get": reads(stock_shapes.Reconciliation, access=ADMIN)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every (location, batch, bucket) whose balance differs from its ledger sum, and every DRAFT group
        whose pending_groups entry drifted; both empty when healthy."""
        resp.media = inventory.reconcile(self.db)
