"""Storage locations: HTTP in and out; the work is service/locations.py's."""

from __future__ import annotations

import falcon

from .. import locations, shapes
from ..db import Database
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..locations import LOCATION_FIELDS
from ..openapi import creates, reads
from ..pagination import LIST_PARAMS, Page
from ..validation import Schema, obj, text

CREATE = Schema(
    obj({"code": text(20), "name": text(200), "is_active": {"type": "boolean"}}, ["code", "name"])
)


class Locations:
    doc = {
        "get": reads(shapes.Page[shapes.Location], params=LIST_PARAMS),
        "post": creates(CREATE.schema, shapes.Location, (409,)),
    }

    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List locations; `is_default` marks the default."""
        page = Page(req)
        if wants_whole_list(req):
            params = locations.list_params(self.default_location_code, None, None)
            return answer_whole(resp, self.db, "list_locations", params, LOCATION_FIELDS)
        params = locations.list_params(self.default_location_code, page.after_id(), page.limit + 1)
        rows, total = locations.list_locations(self.db, params)
        resp.media = page.answer(rows, total)

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Create a location (409 DUPLICATE_LOCATION)."""
        body = CREATE.parse(req)
        resp.media = locations.create(
            db, body["code"], body["name"], body.get("is_active", True), self.default_location_code
        )
        resp.status = falcon.HTTP_201
