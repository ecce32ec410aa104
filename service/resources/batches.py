"""Batches: an article's batches in FEFO order, creation under the batch-code rule, edits. HTTP in and
out; the work is service/batches.py's."""

from __future__ import annotations

import falcon

from .. import batches, shapes
from ..articles import ACTIVE
from ..batches import LISTED_BATCH_FIELDS
from ..db import Database
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import changes, creates, query, reads
from ..pagination import EXPIRY, LIST_PARAMS, Page
from ..validation import DATE, ID, Schema, obj, query_choice, query_int, text
from . import Resource

NOTE = {"anyOf": [text(1000, 0), {"type": "null"}]}
CREATE = Schema(
    obj(
        {
            "article_id": ID,
            # the rule itself (4-5 or 9-12 ASCII digits) is checked with the article, for INVALID_BATCH_FORMAT
            "batch_code": text(50, 0),
            "expiry_date": {"anyOf": [DATE, {"type": "null"}]},
            "received_date": {"anyOf": [DATE, {"type": "null"}]},
            "note": NOTE,
        },
        ["article_id", "batch_code"],
    )
)
EDIT = Schema(
    {**obj({"note": NOTE, "expiry_date": DATE, "is_active": {"type": "boolean"}}), "minProperties": 1}
)


class ArticleBatches(Resource):
    doc = {
        "get": reads(
            shapes.Page[shapes.ListedBatch],
            (404,),
            params=[
                *LIST_PARAMS,
                query("active", {"enum": list(ACTIVE)}, "default true"),
                query("location_id", ID, "quantities at this location only"),
            ],
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response, article: str) -> None:
        """An article's batches (by article_no) in FEFO order: earliest expiry first, then code."""
        page = Page(req)
        after = page.after_values(EXPIRY, str)
        filters = batches.list_filters(article, query_choice(req, "active", ACTIVE))
        location_id = query_int(req, "location_id")
        if wants_whole_list(req):
            batches.check_article(self.db, filters)
            params = batches.list_params(filters, location_id, after, None)
            return answer_whole(resp, self.db, "list_batches", params, LISTED_BATCH_FIELDS)
        params = batches.list_params(filters, location_id, after, page.limit + 1)
        rows, total = batches.list_batches(self.db, filters, params)
        body = page.answer(rows, total, key=lambda row: [row["sort_expiry"], row["batch_code"]])
        body["items"] = [batches.listed_batch(row) for row in body["items"]]
        resp.media = body


class Batches(Resource):
    doc = {"post": creates(CREATE.schema, shapes.Batch, (404, 409))}

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Create a paint batch (400 INVALID_BATCH_FORMAT, 409 DUPLICATE_BATCH)."""
        body = CREATE.parse(req)
        resp.media = batches.create(
            db,
            body["article_id"],
            body["batch_code"],
            expiry_date=body.get("expiry_date"),
            received_date=body.get("received_date"),
            note=body.get("note"),
        )
        resp.status = falcon.HTTP_201


class BatchItem(Resource):
    doc = {"patch": changes(EDIT.schema, shapes.Batch, (404, 409))}

    @keyed()
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        """Edit a batch: note, is_active, and expiry_date only while it is unset (409 EXPIRY_ALREADY_SET)."""
        resp.media = batches.edit(db, id, EDIT.parse(req))
