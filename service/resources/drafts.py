"""Draft groups (bulk entry, approval, rejection) and the older single-draft API on top of them: HTTP in
and out; the work is service/draft_groups.py's."""

from __future__ import annotations

import falcon

from .. import draft_groups, shapes
from ..auth import ANY, User
from ..db import READ_COMMITTED, Database
from ..draft_groups import CLIENT_SOURCES, DRAFT_TYPES, MAX_LINES, SOURCES, STATUSES
from ..idempotency import keyed
from ..openapi import changes, creates, query, reads
from ..pagination import LIST_PARAMS, Page
from ..validation import ID, QUANTITY, Schema, obj, query_choice, query_int, query_param, text
from . import Resource

LINE_INPUT = {
    "article_id": ID,
    "batch_id": {"anyOf": [ID, {"type": "null"}]},
    "quantity_kg": QUANTITY,
    "client_event_id": text(100),
    "note": {"anyOf": [text(1000, 0), {"type": "null"}]},
    "draft_type": {"enum": list(DRAFT_TYPES)},
}
LINE_REQUIRED = ("article_id", "quantity_kg", "client_event_id")
GROUP_CREATE = Schema(
    obj(
        {
            "name": text(200),
            "location_id": ID,
            "source": {"enum": list(CLIENT_SOURCES)},
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_LINES,
                "items": obj(LINE_INPUT, LINE_REQUIRED),
            },
        },
        ["lines"],
    )
)
DRAFT_CREATE = Schema(
    obj({**LINE_INPUT, "location_id": ID, "source": {"enum": list(CLIENT_SOURCES)}}, LINE_REQUIRED)
)
DRAFT_EDIT = Schema({**obj({"quantity_kg": QUANTITY, "note": LINE_INPUT["note"]}), "minProperties": 1})
RENAME = Schema(obj({"name": text(200)}, ["name"]))
DECISION = Schema(obj({"note": {"anyOf": [text(1000, 0), {"type": "null"}]}}))
CREATED_BY = query("created_by", {"type": "string", "pattern": "^(me|[0-9]+)$"}, "`me` or a user id")
STATUS, LOCATION = query("status", {"enum": list(STATUSES)}), query("location_id", ID)
GROUP_LIST_PARAMS = [*LIST_PARAMS, STATUS, query("source", {"enum": list(SOURCES)}), LOCATION, CREATED_BY]
DRAFT_LIST_PARAMS = [
    *LIST_PARAMS,
    STATUS,
    query("draft_type", {"enum": list(DRAFT_TYPES)}),
    LOCATION,
    query("article_id", ID),
    CREATED_BY,
]


def decision_note(req: falcon.Request) -> str | None:
    return DECISION.parse(req).get("note") if req.content_length else None


def created_by_filter(req: falcon.Request) -> int | None:
    user: User = req.context.user
    wanted = user.id if query_param(req, "created_by") == "me" else query_int(req, "created_by")
    return wanted if user.is_admin else user.id  # operators see their own only


def decision_doc(response: type, errors: tuple[int, ...]) -> dict:
    return {"post": changes(DECISION.schema, response, errors, body_required=False)}


class DraftResource:
    """The two ways to create: a group with its lines (DraftGroups), or one draft (Drafts), listed as
    `listed` pages of `params`' filters and created from a `schema` body as a `created` answer."""

    listed: type
    params: list[dict]
    schema: Schema
    created: type

    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code
        self.doc = {
            "get": reads(shapes.Page[self.listed], params=self.params),
            "post": creates(self.schema.schema, self.created, (403, 404, 409), access=ANY),
        }

    def create(
        self, db: Database, req: falcon.Request, resp: falcon.Response, body: dict, lines: list
    ) -> None:
        whole_group = "lines" in body
        answer, created = draft_groups.create(
            db,
            draft_groups.parse_lines(lines, req.context.user, prefix="lines" if whole_group else ""),
            req.context.user,
            name=body.get("name"),
            location_id=body.get("location_id"),
            source=body.get("source"),
            default_location_code=self.default_location_code,
            whole_group=whole_group,
        )
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = answer


class DraftGroups(DraftResource):
    listed, params, schema, created = shapes.GroupSummary, GROUP_LIST_PARAMS, GROUP_CREATE, shapes.Group

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List draft groups (operators: their own): DRAFT oldest first (the queue), others newest first."""
        page = Page(req)
        filters = {
            "source": query_choice(req, "source", SOURCES),
            "location_id": query_int(req, "location_id"),
            "created_by": created_by_filter(req),
        }
        status = query_choice(req, "status", STATUSES)
        total, groups = draft_groups.list_groups(self.db, status, filters, page.params())
        resp.media = page.answer(groups, total, key=lambda group: [group.id])

    @keyed(READ_COMMITTED)
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Create a group with all its lines (or none); a re-send of the same lines answers 200."""
        body = GROUP_CREATE.parse(req)
        self.create(db, req, resp, body, body["lines"])


class DraftGroupItem(Resource):
    """A group by id: read, rename, approve, reject. DraftItem is the same for one draft (its one-line
    group); `key` names the id for draft_groups' decisions."""

    shape, edit, key = shapes.Group, RENAME, "group_id"

    def __init__(self, db: Database):
        super().__init__(db)
        self.doc = {
            "get": reads(self.shape, (404,)),
            "patch": changes(self.edit.schema, self.shape, (404, 409), access=ANY),
        }
        self.doc_approve = decision_doc(self.shape, (404, 409, 503))
        self.doc_reject = decision_doc(self.shape, (404, 409))

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """One group with its readable lines (admin or creator)."""
        resp.media = draft_groups.group(self.db, id, req.context.user)

    @keyed(READ_COMMITTED)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        """Rename a DRAFT group (admin or creator)."""
        resp.media = draft_groups.rename(db, id, RENAME.parse(req)["name"], req.context.user)

    @keyed()
    def on_post_approve(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        """Approve (a draft: its one-line group): surplus first, then stock; every line or none."""
        resp.media = draft_groups.approve(db, req.context.user, decision_note(req), **{self.key: id})

    @keyed()
    def on_post_reject(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        """Reject the group and its lines (a draft: its one-line group)."""
        resp.media = draft_groups.reject(db, req.context.user, decision_note(req), **{self.key: id})


class Drafts(DraftResource):
    listed, params, schema, created = shapes.Draft, DRAFT_LIST_PARAMS, DRAFT_CREATE, shapes.Draft

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List drafts (operators: their own): the caller's own first, newest first, then the others."""
        page = Page(req)
        filters = {
            "created_by": created_by_filter(req),
            "status": query_choice(req, "status", STATUSES),
            "draft_type": query_choice(req, "draft_type", DRAFT_TYPES),
            "location_id": query_int(req, "location_id"),
            "article_id": query_int(req, "article_id"),
        }
        rows, total = draft_groups.list_drafts(self.db, filters, req.context.user, page.after, page.limit + 1)
        body = page.answer(rows, total, key=lambda row: [row["mine"], row["id"]])
        body["items"] = [draft_groups.draft_body(row) for row in body["items"]]
        resp.media = body

    @keyed(READ_COMMITTED)
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Create a single draft (a one-line group); a re-send answers 200 with the draft."""
        body = DRAFT_CREATE.parse(req)
        self.create(db, req, resp, body, [body])


class DraftItem(DraftGroupItem):
    shape, edit, key = shapes.Draft, DRAFT_EDIT, "draft_id"  # approving a draft approves its group

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        """One draft (admin or creator)."""
        resp.media = draft_groups.draft(self.db, id, req.context.user)

    @keyed(READ_COMMITTED)
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        """Edit quantity_kg / note of a DRAFT line (admin or creator); audited."""
        resp.media = draft_groups.edit(db, id, DRAFT_EDIT.parse(req), req.context.user)
