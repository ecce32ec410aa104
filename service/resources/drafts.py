"""Draft groups (bulk entry, approval, rejection) and the older single-draft API on top of them."""

from __future__ import annotations

from decimal import Decimal

import falcon
import psycopg

from .. import shapes
from ..auth import ADMIN, User
from ..db import RETRYABLE, Database, Statements
from ..errors import (
    AppError,
    Conflict,
    Forbidden,
    InsufficientStock,
    NotFound,
    ValidationFailed,
    line_problems,
)
from ..idempotency import read_committed
from ..media import dumps
from ..openapi import operation, query
from ..pagination import Page
from ..validation import ID, QUANTITY, Schema, obj, quantity, query_choice, query_int, query_param, text

MAX_LINES = 500
MIN_Q, MAX_Q = Decimal("0.01"), Decimal("9999.99")
STATUSES = ("DRAFT", "APPROVED", "REJECTED")
DRAFT_TYPES = ("WEIGH_IN", "INVENTORY_SHORTAGE")
CLIENT_SOURCES = ("manual", "scale", "import")
SOURCES = ("ui_admin", "ui_operator", *CLIENT_SOURCES, "inventory_count")

LINE_FIELDS = (
    "id",
    "draft_group_id",
    "location_id",
    "article_id",
    "batch_id",
    "quantity_kg",
    "status",
    "draft_type",
    "source",
    "client_event_id",
    "note",
    "created_by_user_id",
    "created_at",
    "article_no",
    "description",
    "batch_code",
    "expiry_date",
    "uom",
)

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


# a page of 50 is built and encoded as Structs in a fraction of the time dicts take (docs/performance.md);
# the total arrives as raw JSON digits (NumericAsJson), which the encoder writes as the number
SUMMARY_COLUMNS = ("total", *shapes.GroupSummary.__struct_fields__)


def summary_row(cursor: psycopg.Cursor):
    """Row factory of the group lists: (total, GroupSummary), or (total, None) for the one row of an
    empty page. The columns must be the Struct's fields, in order, after `total`."""
    names = tuple(column.name for column in cursor.description or ())
    if names != SUMMARY_COLUMNS:
        raise AssertionError(f"a group list statement returned {names}, not {SUMMARY_COLUMNS}")

    def make(values):
        return values[0], None if values[1] is None else shapes.GroupSummary(*values[1:])

    return make


LIST_PARAMS = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
    query("cursor", {"type": "string"}),
]
CREATED_BY = query("created_by", {"type": "string", "pattern": "^(me|[0-9]+)$"}, "`me` or a user id")


# --- shaping -----------------------------------------------------------------------------------------


def draft_body(row: dict) -> dict:
    body = {field: row[field] for field in LINE_FIELDS}
    if row["status"] == "APPROVED":
        body["consumed_surplus_kg"] = row["consumed_surplus_kg"]
        body["consumed_stock_kg"] = row["consumed_stock_kg"]
    return body


def group_body(rows: list[dict]) -> dict:
    """A group detail from `group_detail`-shaped rows (group columns repeated on each line row)."""
    first = rows[0]
    drafts = [draft_body(r) for r in rows if r["id"] is not None]
    body = {
        "id": first["group_id"],
        "name": first["group_name"],
        "status": first["group_status"],
        "source": first["group_source"],
        "location_id": first["group_location_id"],
        "created_by_user_id": first["group_created_by_user_id"],
        "created_by_name": first["group_created_by_name"],
        "created_at": first["group_created_at"],
        "line_count": len(drafts),
        "total_quantity_kg": first["total_quantity_kg"],
        "drafts": drafts,
    }
    if first["group_status"] != "DRAFT":
        body.update(
            decided_by_user_id=first["decided_by_user_id"],
            decided_at=first["decided_at"],
            decision_note=first["decision_note"],
        )
    return body


# --- parsing ----------------------------------------------------------------------------------------


def parse_lines(lines: list[dict], user: User, prefix: str = "lines") -> list[dict]:
    """Lines for `create_group`: quantities rounded, event ids unique, shortage lines only for admins."""
    problems: dict[str, str] = {}
    seen: dict[str, int] = {}
    parsed = []
    for n, line in enumerate(lines):
        path = f"{prefix}[{n}]" if prefix else ""
        q = quantity(line["quantity_kg"], f"{path}.quantity_kg".lstrip("."), MIN_Q, MAX_Q, problems)
        event = line["client_event_id"]
        if event in seen:
            problems[f"{path}.client_event_id".lstrip(".")] = f"repeats {prefix}[{seen[event]}]"
        seen.setdefault(event, n)
        parsed.append(
            {
                "n": n,
                "article_id": line["article_id"],
                "batch_id": line.get("batch_id"),
                "quantity_kg": str(q) if q is not None else None,
                "client_event_id": event,
                "note": line.get("note"),
                "draft_type": line.get("draft_type", "WEIGH_IN"),
            }
        )
    if problems:
        raise ValidationFailed(problems)
    if not user.is_admin and any(p["draft_type"] != "WEIGH_IN" for p in parsed):
        raise Forbidden(
            "Operators may create WEIGH_IN lines only; shortage lines come from inventory counts.",
            details={"required_role": ADMIN},
        )
    return parsed


LINE_PROBLEMS = {
    # code: (status, message, field)
    "ARTICLE_NOT_FOUND": (404, "Article not found.", "article_id"),
    "BATCH_NOT_FOUND": (404, "Batch not found.", "batch_id"),
    "BATCH_REQUIRED": (400, "Paint lines need a batch_id.", "batch_id"),
    "BATCH_ARTICLE_MISMATCH": (400, "The batch belongs to another article.", "batch_id"),
    "ARTICLE_ARCHIVED": (409, "The article is archived and takes no new drafts.", "article_id"),
    "BATCH_INACTIVE": (409, "The batch is inactive and takes no new drafts.", "batch_id"),
}


def creation_error(result: dict, prefix: str) -> AppError:
    """The error for a create_group outcome other than create / replay."""
    if result["outcome"] == "location_not_found":
        return NotFound("location")
    problems = result["problems"] or []
    if result["outcome"] == "duplicate":
        ids = [p["client_event_id"] for p in problems]
        return Conflict(
            "DUPLICATE_EVENT_ID",
            f"client_event_id {ids[0]!r} was already used for different content.",
            client_event_ids=ids,
        )
    # the most fundamental kind of problem (404, then 400, then 409) names the error
    return line_problems(problems, LINE_PROBLEMS, prefix, ("article_id", "batch_id"))


def viewer(req: falcon.Request) -> dict:
    user: User = req.context.user
    return {"viewer_id": user.id, "viewer_is_admin": user.is_admin}


def detail_params(req: falcon.Request, *, group_id=None, draft_id=None, client_event_id=None) -> dict:
    return {"group_id": group_id, "draft_id": draft_id, "client_event_id": client_event_id, **viewer(req)}


def created_by_filter(req: falcon.Request) -> int | None:
    user: User = req.context.user
    wanted = user.id if query_param(req, "created_by") == "me" else query_int(req, "created_by")
    return wanted if user.is_admin else user.id  # operators see their own only


# --- the service both APIs share ----------------------------------------------------------------------


class Drafting:
    """Creation, decisions and edits: each one transaction, most one statement."""

    def __init__(self, db: Database, sql: Statements, default_location_code: str):
        self.db = db
        self.sql = sql
        self.default_location_code = default_location_code

    def create(
        self,
        req: falcon.Request,
        lines: list[dict],
        *,
        name: str | None,
        location_id: int | None,
        source: str | None,
        whole_group: bool,
    ) -> tuple[dict, list[dict], bool]:
        """(create_group result, detail rows, created?) — all in one round trip."""
        user: User = req.context.user
        params = {
            "lines": dumps(lines).decode(),
            "location_id": location_id,
            "default_location_code": self.default_location_code,
            "name": name,
            "name_prefix": "AdminDraft" if user.is_admin else "OperatorDraft",
            "source": source or ("ui_admin" if user.is_admin else "ui_operator"),
            "user_id": user.id,
            "whole_group": whole_group,
        }
        no_batch = [line["article_id"] for line in lines if line["batch_id"] is None]
        detail = self.sql.group_detail if whole_group else self.sql.draft_detail
        first_event = lines[0]["client_event_id"]

        def work(conn: psycopg.Connection):
            if no_batch:
                conn.execute(self.sql.ensure_na_batches, {"article_ids": no_batch})
            created = conn.execute(self.sql.create_group, params)
            shown = conn.execute(detail, detail_params(req, client_event_id=first_event))
            return lambda: (created.fetchone(), shown.fetchall())

        # READ COMMITTED: the name counter is bumped under a row lock instead of aborting concurrent creates;
        # a concurrent create of the same client_event_id surfaces as a unique violation and is re-run once.
        result, rows = self.db.run(
            work, isolation=None, retry_on=(psycopg.errors.UniqueViolation, *RETRYABLE)
        )
        if result["outcome"] == "replay" and not rows:
            result = {**result, "outcome": "duplicate", "problems": [{"client_event_id": first_event}]}
        return result, rows, result["outcome"] == "create"

    def approve(self, req: falcon.Request, *, group_id=None, draft_id=None) -> list[dict]:
        params = {
            "group_id": group_id,
            "draft_id": draft_id,
            "actor_id": req.context.user.id,
            "note": decision_note(req),
        }
        rows = self.db.serializable(self.sql.approve_group, params)
        outcome = rows[0]["outcome"]
        if outcome == "short":
            raise InsufficientStock(
                [
                    {**row, "draft_id": row["id"], "required_kg": row["quantity_kg"]}
                    for row in rows
                    if row["shortage_kg"] > 0
                ]
            )
        decided(outcome, group_id or draft_id, draft_id is not None)
        return rows

    def reject(self, req: falcon.Request, *, group_id=None, draft_id=None) -> list[dict]:
        params = {
            "group_id": group_id,
            "draft_id": draft_id,
            "actor_id": req.context.user.id,
            "note": decision_note(req),
        }
        detail = self.sql.draft_detail if draft_id else self.sql.group_detail

        def work(conn: psycopg.Connection):
            verdict = conn.execute(self.sql.reject_group, params)
            shown = conn.execute(detail, detail_params(req, group_id=group_id, draft_id=draft_id))
            return lambda: (verdict.fetchone(), shown.fetchall())

        verdict, rows = self.db.run(work)
        decided(verdict["outcome"], group_id or draft_id, draft_id is not None)
        return rows


def decision_note(req: falcon.Request) -> str | None:
    return DECISION.parse(req).get("note") if req.content_length else None


def decided(outcome: str, ident: int, single: bool) -> None:
    """Raises the error for an approve / reject outcome that is not a success."""
    if outcome == "not_found":
        raise NotFound("draft" if single else "group", id=ident)
    if outcome == "not_draft":
        raise Conflict("GROUP_NOT_DRAFT", "The group was already approved or rejected.")
    if outcome == "empty":
        raise Conflict("GROUP_EMPTY", "The group has no lines.")
    if outcome == "group_required":
        raise Conflict(
            "GROUP_APPROVAL_REQUIRED",
            "This draft belongs to a group of several lines; approve or reject the group.",
        )


# --- resources ----------------------------------------------------------------------------------------


class DraftResource:
    """What every draft resource holds: the database, the statements and the shared Drafting service."""

    def __init__(self, db: Database, sql: Statements, drafting: Drafting):
        self.db = db
        self.sql = sql
        self.drafting = drafting


def decision_doc(summary: str, response: type, errors: tuple[int, ...]) -> dict:
    return {
        "post": operation(
            summary,
            access=ADMIN,
            body=DECISION.schema,
            body_required=False,
            response=response,
            errors=errors,
        )
    }


class DraftGroups(DraftResource):
    doc = {
        "get": operation(
            "List draft groups (operators: their own): DRAFT oldest first (the queue), others newest first",
            response=shapes.Page[shapes.GroupSummary],
            params=[
                *LIST_PARAMS,
                query("status", {"enum": list(STATUSES)}),
                query("source", {"enum": list(SOURCES)}),
                query("location_id", ID),
                CREATED_BY,
            ],
        ),
        "post": operation(
            "Create a group with all its lines (or none); a re-send of the same lines answers 200",
            body=GROUP_CREATE.schema,
            ok=201,
            response=shapes.Group,
            errors=(403, 404, 409),
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        status = query_choice(req, "status", STATUSES)
        filters = {
            "source": query_choice(req, "source", SOURCES),
            "location_id": query_int(req, "location_id"),
            "created_by": created_by_filter(req),
        }
        if status == "DRAFT":  # no index covers status; the pending set is small
            filtered = any(value is not None for value in filters.values())
            listing = self.sql.list_pending_groups if filtered else self.sql.list_all_pending_groups
        else:
            listing = self.sql.list_groups
            filters["status"] = status
        rows = self.db.answer_rows(listing, {**filters, **page.params()}, summary_row)
        total = rows[0][0]  # on every row; an empty page is one row with only the total
        groups = [group for _, group in rows if group is not None]
        resp.media = page.answer(groups, total, key=lambda group: [group.id])

    @read_committed
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = GROUP_CREATE.parse(req)
        lines = parse_lines(body["lines"], req.context.user)
        result, rows, created = self.drafting.create(
            req,
            lines,
            name=body.get("name"),
            location_id=body.get("location_id"),
            source=body.get("source"),
            whole_group=True,
        )
        if result["outcome"] not in ("create", "replay"):
            raise creation_error(result, "lines")
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = group_body(rows)


class DraftGroupItem(DraftResource):
    doc = {
        "get": operation(
            "One group with its readable lines (admin or creator)", response=shapes.Group, errors=(404,)
        ),
        "patch": operation(
            "Rename a DRAFT group (admin or creator)",
            body=RENAME.schema,
            response=shapes.Group,
            errors=(404, 409),
        ),
    }
    doc_approve = decision_doc(
        "Approve: surplus first, then stock; every line or none", shapes.Group, (404, 409, 503)
    )
    doc_reject = decision_doc("Reject the group and its lines", shapes.Group, (404, 409))

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        rows = self.db.answer_rows(self.sql.group_detail, detail_params(req, group_id=id))
        if not rows:
            raise NotFound("group", id=id)
        resp.media = group_body(rows)

    @read_committed
    def on_patch(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        name = RENAME.parse(req)["name"]
        user: User = req.context.user
        params = {"group_id": id, "name": name, "actor_id": user.id, "actor_is_admin": user.is_admin}

        def work(conn: psycopg.Connection):
            verdict = conn.execute(self.sql.rename_group, params)
            shown = conn.execute(self.sql.group_detail, detail_params(req, group_id=id))
            return lambda: (verdict.fetchone(), shown.fetchall())

        verdict, rows = self.db.run(work, isolation=None)
        decided(verdict["outcome"], id, single=False)
        resp.media = group_body(rows)

    def on_post_approve(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.media = group_body(self.drafting.approve(req, group_id=id))

    def on_post_reject(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.media = group_body(self.drafting.reject(req, group_id=id))


class Drafts(DraftResource):
    doc = {
        "get": operation(
            "List drafts (operators: their own): the caller's own first, newest first, then the others",
            response=shapes.Page[shapes.Draft],
            params=[
                *LIST_PARAMS,
                query("status", {"enum": list(STATUSES)}),
                query("draft_type", {"enum": list(DRAFT_TYPES)}),
                query("location_id", ID),
                query("article_id", ID),
                CREATED_BY,
            ],
        ),
        "post": operation(
            "Create a single draft (a one-line group); a re-send answers 200 with the draft",
            body=DRAFT_CREATE.schema,
            ok=201,
            response=shapes.Draft,
            errors=(403, 404, 409),
        ),
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        filters = {
            "status": query_choice(req, "status", STATUSES),
            "draft_type": query_choice(req, "draft_type", DRAFT_TYPES),
            "location_id": query_int(req, "location_id"),
            "article_id": query_int(req, "article_id"),
            "created_by": created_by_filter(req),
        }
        after = page.after  # [mine (1 or 0), id]
        if after is not None and not (
            len(after) == 2
            and all(type(value) is int for value in after)
            and after[0] in (0, 1)
            and 1 <= after[1] < 2**63
        ):
            raise ValidationFailed({"cursor": "is not a cursor this API issued"})
        params = {
            **filters,
            "viewer_id": req.context.user.id,
            "after_mine": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": page.limit + 1,
        }
        with self.db.connection() as conn, conn.pipeline():
            rows = conn.execute(self.sql.list_drafts, params)
            total = conn.execute(self.sql.count_drafts, filters)
        body = page.answer(rows.fetchall(), total.fetchone()["total"], key=lambda r: [r["mine"], r["id"]])
        body["items"] = [draft_body(r) for r in body["items"]]
        resp.media = body

    @read_committed
    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = DRAFT_CREATE.parse(req)
        lines = parse_lines([body], req.context.user, prefix="")
        result, rows, created = self.drafting.create(
            req,
            lines,
            name=None,
            location_id=body.get("location_id"),
            source=body.get("source"),
            whole_group=False,
        )
        if result["outcome"] not in ("create", "replay"):
            raise creation_error(result, "")
        resp.status = falcon.HTTP_201 if created else falcon.HTTP_200
        resp.media = draft_body(rows[0])


class DraftItem(DraftResource):
    doc = {
        "get": operation("One draft (admin or creator)", response=shapes.Draft, errors=(404,)),
        "patch": operation(
            "Edit quantity_kg / note of a DRAFT line (admin or creator); audited",
            body=DRAFT_EDIT.schema,
            response=shapes.Draft,
            errors=(404, 409),
        ),
    }
    doc_approve = decision_doc("Approve a single draft's one-line group", shapes.Draft, (404, 409, 503))
    doc_reject = decision_doc("Reject a single draft's one-line group", shapes.Draft, (404, 409))

    def on_get(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        row = self.db.one(self.sql.draft_detail, detail_params(req, draft_id=id))
        if row is None:
            raise NotFound("draft", id=id)
        resp.media = draft_body(row)

    @read_committed
    def on_patch(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        body = DRAFT_EDIT.parse(req)
        problems: dict[str, str] = {}
        q = (
            quantity(body["quantity_kg"], "quantity_kg", MIN_Q, MAX_Q, problems)
            if "quantity_kg" in body
            else None
        )
        if problems:
            raise ValidationFailed(problems)
        user: User = req.context.user
        params = {
            "draft_id": id,
            "quantity_kg": q,
            "set_note": "note" in body,
            "note": body.get("note"),
            "actor_id": user.id,
            "actor_is_admin": user.is_admin,
        }

        def work(conn: psycopg.Connection):
            verdict = conn.execute(self.sql.edit_draft, params)
            shown = conn.execute(self.sql.draft_detail, detail_params(req, draft_id=id))
            return lambda: (verdict.fetchone(), shown.fetchone())

        verdict, row = self.db.run(work, isolation=None)
        if verdict["outcome"] == "not_found":
            raise NotFound("draft", id=id)
        if verdict["outcome"] == "not_draft":
            raise Conflict("DRAFT_NOT_EDITABLE", "Only DRAFT lines can be edited.")
        resp.media = draft_body(row)

    def on_post_approve(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.media = draft_body(self.drafting.approve(req, draft_id=id)[0])

    def on_post_reject(self, req: falcon.Request, resp: falcon.Response, id: int) -> None:
        resp.media = draft_body(self.drafting.reject(req, draft_id=id)[0])
