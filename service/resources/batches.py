"""Batches: an article's active batches in FEFO order, creation under the batch-code rule, edits."""

from __future__ import annotations

from datetime import date

import falcon

from .. import shapes
from ..auth import ADMIN
from ..db import REPEATABLE_READ, Database
from ..errors import BATCH_RULE, AppError, Conflict, NotFound, ValidationFailed
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import operation, query
from ..pagination import LIST_PARAMS, Page
from ..validation import DATE, ID, Schema, obj, query_choice, query_int, text
from .articles import article_no

BATCH_FIELDS = shapes.Batch.__struct_fields__
LISTED_BATCH_FIELDS = shapes.ListedBatch.__struct_fields__
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
    {
        **obj({"note": NOTE, "expiry_date": DATE, "is_active": {"type": "boolean"}}),
        "minProperties": 1,
    }
)


def invalid_batch_format(field: str = "batch_code", message: str = BATCH_RULE) -> AppError:
    return AppError(message, code="INVALID_BATCH_FORMAT", status=400, details={"fields": {field: message}})


class ArticleBatches:
    doc = {
        "get": operation(
            "An article's batches (by article_no) in FEFO order: earliest expiry first, then code",
            response=shapes.Page[shapes.ListedBatch],
            errors=(404,),
            params=[
                *LIST_PARAMS,
                query("active", {"enum": ["true", "false", "all"]}, "default true"),
                query("location_id", ID, "quantities at this location only"),
            ],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response, article: str) -> None:
        page = Page(req)
        after = page.after_values(str, str)
        if after:
            try:
                if after[0] != "infinity":
                    date.fromisoformat(after[0])
            except ValueError:
                raise ValidationFailed({"cursor": "is not a cursor this API issued"}) from None
        active = query_choice(req, "active", ("true", "false", "all")) or "true"
        filters = {"article_no": article_no(article), "active": None if active == "all" else active == "true"}
        params = {
            **filters,
            "location_id": query_int(req, "location_id"),
            "after_expiry": after[0] if after else None,
            "after_code": after[1] if after else None,
            "limit": None if wants_whole_list(req) else page.limit + 1,
        }
        if wants_whole_list(req):
            if self.db.query("count_batches", filters) is None:
                raise NotFound("article", article_no=article)
            return answer_whole(resp, self.db, "list_batches", params, LISTED_BATCH_FIELDS)
        rows, found = self.db.transaction(
            ("list_batches", params), ("count_batches", filters), isolation=REPEATABLE_READ
        )
        if found is None:
            raise NotFound("article", article_no=article)
        body = page.answer(rows, found["total"], key=lambda row: [row["sort_expiry"], row["batch_code"]])
        body["items"] = [{k: v for k, v in row.items() if k != "sort_expiry"} for row in body["items"]]
        resp.media = body


class Batches:
    doc = {
        "post": operation(
            "Create a paint batch (400 INVALID_BATCH_FORMAT, 409 DUPLICATE_BATCH)",
            access=ADMIN,
            body=CREATE.schema,
            ok=201,
            response=shapes.Batch,
            errors=(404, 409),
        )
    }

    def __init__(self, db: Database):
        self.db = db

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = CREATE.parse(req)
        params = {
            "article_id": body["article_id"],
            "batch_code": body["batch_code"],
            "expiry_date": body.get("expiry_date"),
            "received_date": body.get("received_date"),
            "note": body.get("note"),
        }
        result = db.query("create_batch", params)
        outcome = result["outcome"]
        if outcome == "article_not_found":
            raise NotFound("article", id=body["article_id"])
        if outcome == "consumable":
            raise invalid_batch_format(
                message="A consumable has no batches of its own: its stock sits on the system batch NA."
            )
        if outcome == "invalid_format":
            raise invalid_batch_format()
        if outcome == "article_archived":
            raise Conflict("ARTICLE_ARCHIVED", "The article is archived and takes no new batches.")
        if outcome == "duplicate":
            raise Conflict(
                "DUPLICATE_BATCH",
                f"The article already has a batch {body['batch_code']!r}.",
                article_id=body["article_id"],
                batch_code=body["batch_code"],
            )
        resp.status = falcon.HTTP_201
        resp.media = {field: result[field] for field in BATCH_FIELDS}


class BatchItem:
    doc = {
        "patch": operation(
            "Edit a batch: note, is_active, and expiry_date only while it is unset (409 EXPIRY_ALREADY_SET)",
            access=ADMIN,
            body=EDIT.schema,
            response=shapes.Batch,
            errors=(404, 409),
        )
    }

    def __init__(self, db: Database):
        self.db = db

    @keyed()
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        body = EDIT.parse(req)
        params = {
            "id": id,
            "set_note": "note" in body,
            "note": body.get("note"),
            "is_active": body.get("is_active"),
            "expiry_date": body.get("expiry_date"),
        }

        verdict, row = db.transaction(("update_batch", params), ("batch_detail", {"id": id}))
        if verdict["outcome"] == "not_found":
            raise NotFound("batch", id=id)
        if verdict["outcome"] == "expiry_set":
            raise Conflict(
                "EXPIRY_ALREADY_SET",
                "The batch's expiry date is set and cannot change.",
                expiry_date=verdict["current_expiry_date"],
            )
        resp.media = row
