"""Transfers between locations and the audit trail: HTTP in and out; the work is service/transfers.py's
and service/audit.py's."""

from __future__ import annotations

import falcon

from .. import audit, shapes, stock_shapes, transfers
from ..auth import ADMIN
from ..db import Database
from ..draft_groups import MAX_LINES
from ..filters import MOMENT
from ..idempotency import keyed
from ..openapi import creates, query, reads
from ..pagination import LIST_PARAMS, Page
from ..validation import ID, QUANTITY, Schema, obj, query_choice, query_int, query_moment, text
from . import Resource

TRANSFER_LINE = obj(
    {"article_id": ID, "batch_id": ID, "quantity_kg": QUANTITY, "bucket": {"enum": ["stock", "surplus"]}},
    ["article_id", "quantity_kg"],
)
TRANSFER = Schema(
    obj(
        {
            "from_location_id": ID,
            "to_location_id": ID,
            "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": TRANSFER_LINE},
            "note": {"anyOf": [text(1000, 0), {"type": "null"}]},
            "client_event_id": text(100),
        },
        ["from_location_id", "to_location_id", "lines"],
    )
)


class Transfer(Resource):
    doc = {"post": creates(TRANSFER.schema, stock_shapes.Transfer, (404, 409, 503))}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Move stock or surplus from one location to another: all lines or none, the source never below
        zero; a repeated client_event_id answers 200 with the first transfer and moves nothing."""
        body = TRANSFER.parse(req)
        answer, created = transfers.transfer(
            db,
            req.context.user.id,
            from_location_id=body["from_location_id"],
            to_location_id=body["to_location_id"],
            raw_lines=body["lines"],
            note=body.get("note"),
            client_event_id=body.get("client_event_id"),
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = answer


class Audit(Resource):
    doc = {
        "get": reads(
            shapes.LedgerPage[stock_shapes.AuditEntry],
            access=ADMIN,
            params=[
                *LIST_PARAMS,
                query("action", {"enum": list(audit.ACTIONS)}),
                query("actor_id", ID),
                query("draft_group_id", ID),
                query("from", MOMENT, "at or after"),
                query("to", MOMENT, "at or before (a date: that whole day)"),
            ],
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The audit trail, newest first: approval actions, transfers, counts and adjustments (no total)."""
        page = Page(req)
        after = audit.position(page.after_values(str, int, int))
        filters = {
            "action": query_choice(req, "action", audit.ACTIONS),
            "actor_id": query_int(req, "actor_id"),
            "draft_group_id": query_int(req, "draft_group_id"),
            "from": query_moment(req, "from"),
            "before": query_moment(req, "to", end=True),
        }
        body = page.answer(audit.entries(self.db, filters, after, page.limit), key=audit.key)
        body["items"] = [audit.item(row) for row in body["items"]]
        resp.media = body
