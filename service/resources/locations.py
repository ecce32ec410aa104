"""Storage locations: the list (default marked) and creation."""

from __future__ import annotations

import falcon

from .. import shapes
from ..auth import ADMIN
from ..db import REPEATABLE_READ, Database
from ..errors import Conflict, ValidationFailed
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import operation
from ..pagination import LIST_PARAMS, Page
from ..validation import Schema, obj, text

LOCATION_FIELDS = shapes.Location.__struct_fields__
CREATE = Schema(
    obj({"code": text(20), "name": text(200), "is_active": {"type": "boolean"}}, ["code", "name"])
)


class Locations:
    doc = {
        "get": operation(
            "List locations; `is_default` marks the default",
            params=LIST_PARAMS,
            response=shapes.Page[shapes.Location],
        ),
        "post": operation(
            "Create a location (409 DUPLICATE_LOCATION)",
            access=ADMIN,
            body=CREATE.schema,
            ok=201,
            response=shapes.Location,
            errors=(409,),
        ),
    }

    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        if wants_whole_list(req):
            params = {"default_code": self.default_location_code, "after_id": None, "limit": None}
            return answer_whole(resp, self.db, "list_locations", params, LOCATION_FIELDS)
        rows, total = self.db.transaction(
            ("list_locations", {"default_code": self.default_location_code, **page.params()}),
            ("count_locations", None),
            isolation=REPEATABLE_READ,
        )
        resp.media = page.answer(rows, total["total"])

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = CREATE.parse(req)
        code, name = body["code"].strip(), body["name"].strip()
        problems = {
            field: "must not be blank" for field, value in (("code", code), ("name", name)) if not value
        }
        if problems:
            raise ValidationFailed(problems)
        params = {
            "code": code,
            "name": name,
            "is_active": body.get("is_active", True),
            "default_code": self.default_location_code,
        }
        row = db.query("create_location", params)
        if row is None:
            raise Conflict("DUPLICATE_LOCATION", f"The location code {code!r} is taken.", location_code=code)
        resp.status = falcon.HTTP_201
        resp.media = row
