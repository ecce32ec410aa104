"""Draft groups and their lines (drafts): creation, approval, rejection, renames, edits and the lists.

Each function takes the database it runs on (`db`: the `Database`, or the `Unit` of a keyed request)
and plain values; it returns rows in the answer's shape, or raises the error of a refusal
(service/errors.py). Every write is one transaction, most of them one statement (sql/draft_groups.sql,
sql/drafts.sql).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

import psycopg

from . import shapes
from .db import REPEATABLE_READ, RETRYABLE, SERIALIZABLE, Database
from .errors import Forbidden, ValidationFailed
from .media import dumps
from .metrics import count_approval
from .refusals import refuse
from .validation import quantity

MAX_LINES = 500
MIN_Q, MAX_Q = Decimal("0.01"), Decimal("9999.99")
STATUSES = ("DRAFT", "APPROVED", "REJECTED")
DRAFT_TYPES = ("WEIGH_IN", "INVENTORY_SHORTAGE")
CLIENT_SOURCES = ("manual", "scale", "import")
SOURCES = ("ui_admin", "ui_operator", *CLIENT_SOURCES, "inventory_count")
DRAFT_FIELDS = tuple(f for f in shapes.Draft.__struct_fields__ if not f.startswith("consumed_"))
# the group lists' columns: `total`, then a GroupSummary's fields in order (see summary_row)
SUMMARY_FIELDS = tuple(name.encode() for name in ("total", *shapes.GroupSummary.__struct_fields__))


class Actor(Protocol):
    """Who acts or reads: an id and whether they are an admin (auth.User is one)."""

    @property
    def id(self) -> int: ...

    @property
    def is_admin(self) -> bool: ...


# --- reading ------------------------------------------------------------------------------------------


def shown(actor: Actor, *, group_id=None, draft_id=None, client_event_id=None) -> dict[str, Any]:
    """Parameters of `group_detail` / `draft_detail`: what to show, to whom (admin or creator)."""
    return {
        "group_id": group_id,
        "draft_id": draft_id,
        "client_event_id": client_event_id,
        "viewer_id": actor.id,
        "viewer_is_admin": actor.is_admin,
    }


def group(db: Database, group_id: int, actor: Actor) -> dict:
    """One group with its readable lines (admin or creator); 404 otherwise."""
    rows = db.query("group_detail", shown(actor, group_id=group_id), answer=True)
    if not rows:
        refuse("not_found", subject="group", id=group_id)
    return group_body(rows)


def draft(db: Database, draft_id: int, actor: Actor) -> dict:
    """One draft (admin or creator); 404 otherwise."""
    row = db.query("draft_detail", shown(actor, draft_id=draft_id))
    if row is None:
        refuse("not_found", subject="draft", id=draft_id)
    return draft_body(row)


def list_groups(db: Database, status: str | None, filters: dict[str, Any], page: dict) -> tuple[int, list]:
    """(total, GroupSummary Structs) of one page. DRAFT groups come oldest first from pending_groups (a
    small table of the queue); the others newest first."""
    if status == "DRAFT":
        filtered = any(value is not None for value in filters.values())
        listing = "list_pending_groups" if filtered else "list_all_pending_groups"
    else:
        listing = "list_groups"
        filters = {**filters, "status": status}
    rows = db.query(listing, {**filters, **page}, answer=True, row_factory=summary_row)
    total = rows[0][0]  # on every row; an empty page is one row with only the total
    return total, [summary for _, summary in rows if summary is not None]


def list_drafts(db: Database, filters: dict[str, Any], actor: Actor, after: list | None, limit: int):
    """(rows, total): the caller's own drafts first, newest first, then the others; each row is a draft
    (see `draft_body`) with its keyset position `mine` (1 or 0) and `id`; `after` is that of the last row
    seen."""
    if after is not None and not (
        len(after) == 2
        and all(type(v) is int for v in after)
        and after[0] in (0, 1)
        and 1 <= after[1] < 2**63
    ):
        raise ValidationFailed({"cursor": "is not a cursor this API issued"})
    params = {
        **filters,
        "viewer_id": actor.id,
        "after_mine": after[0] if after else None,
        "after_id": after[1] if after else None,
        "limit": limit,
    }
    rows, total = db.transaction(
        ("list_drafts", params), ("count_drafts", filters), isolation=REPEATABLE_READ
    )
    return rows, total["total"]


def summary_row(cursor: psycopg.Cursor):
    """Row factory of the group lists: (total, GroupSummary), or (total, None) for the one row of an
    empty page. A page of 50 is built and encoded as Structs in a fraction of the time dicts take."""
    # the result's field names as bytes: building cursor.description's 13 Column objects cost ~29 µs
    # a page, these ~3 µs (docs/performance.md, issue 18)
    result = cursor.pgresult
    names = tuple(result.fname(i) for i in range(result.nfields)) if result else ()
    if names != SUMMARY_FIELDS:
        raise AssertionError(f"a group list statement returned {names}, not {SUMMARY_FIELDS}")

    def make(values):
        return values[0], None if values[1] is None else shapes.GroupSummary(*values[1:])

    return make


def draft_body(row: dict) -> dict:
    body = {field: row[field] for field in DRAFT_FIELDS}
    if row["status"] == "APPROVED":
        body["consumed_surplus_kg"] = row["consumed_surplus_kg"]
        body["consumed_stock_kg"] = row["consumed_stock_kg"]
    return body


def group_body(rows: list[dict]) -> dict:
    """A group from `group_detail`-shaped rows (the group's columns repeated on each line's row)."""
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


# --- writing ------------------------------------------------------------------------------------------


def parse_lines(lines: list[dict], actor: Actor, prefix: str = "lines") -> list[dict]:
    """Lines for `create`: quantities rounded, event ids unique, shortage lines only from admins."""
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
    if not actor.is_admin and any(p["draft_type"] != "WEIGH_IN" for p in parsed):
        raise Forbidden(
            "Operators may create WEIGH_IN lines only; shortage lines come from inventory counts.",
            details={"required_role": "ADMIN"},
        )
    return parsed


def create(
    db: Database,
    lines: list[dict],
    actor: Actor,
    *,
    name: str | None,
    location_id: int | None,
    source: str | None,
    default_location_code: str,
    whole_group: bool,
) -> tuple[dict, bool]:
    """(the group, or its one draft when not `whole_group`; created?) in one transaction and one round
    trip. A re-send of the same lines is a replay: the existing group, not created."""
    params = {
        "lines": dumps(lines).decode(),
        "location_id": location_id,
        "default_location_code": default_location_code,
        "name": name,
        "name_prefix": "AdminDraft" if actor.is_admin else "OperatorDraft",
        "source": source or ("ui_admin" if actor.is_admin else "ui_operator"),
        "user_id": actor.id,
        "whole_group": whole_group,
    }
    first_event = lines[0]["client_event_id"]
    detail = ("group_detail" if whole_group else "draft_detail", shown(actor, client_event_id=first_event))
    steps = [("create_group", params), detail]
    if no_batch := [line["article_id"] for line in lines if line["batch_id"] is None]:
        steps.insert(0, ("ensure_na_batches", {"article_ids": no_batch}))
    # READ COMMITTED: the name counter is bumped under a row lock instead of aborting concurrent creates;
    # a concurrent create of the same client_event_id surfaces as a unique violation and is re-run once.
    *_, result, detail = db.transaction(*steps, retry_on=(psycopg.errors.UniqueViolation, *RETRYABLE))
    outcome, problems = result["outcome"], result["problems"] or []
    if outcome == "replay" and not detail:  # the event ids name lines the caller may not see
        outcome, problems = "duplicate_event", [{"client_event_id": first_event}]
    refuse(
        outcome,
        problems=problems,
        prefix="lines" if whole_group else "",
        client_event_ids=[p.get("client_event_id") for p in problems],
        location_id=location_id,
        default_location_code=default_location_code,
    )
    return (group_body(detail) if whole_group else draft_body(detail)), outcome == "create"


def approve(db: Database, actor: Actor, note: str | None, *, group_id=None, draft_id=None) -> dict:
    """Books every line of a DRAFT group (surplus first, then stock) or none, in one SERIALIZABLE
    statement; the group (or, named by `draft_id`, its one draft) as approved."""
    params = {"group_id": group_id, "draft_id": draft_id, "actor_id": actor.id, "note": note}
    rows = db.write("approve_group", params)
    count_approval(rows[0]["outcome"])
    refuse(rows[0]["outcome"], subject="draft" if draft_id else "group", id=draft_id or group_id, rows=rows)
    return draft_body(rows[0]) if draft_id else group_body(rows)


def reject(db: Database, actor: Actor, note: str | None, *, group_id=None, draft_id=None) -> dict:
    """Rejects a DRAFT group and its lines; the group (or, named by `draft_id`, its one draft)."""
    params = {"group_id": group_id, "draft_id": draft_id, "actor_id": actor.id, "note": note}
    detail = (
        "draft_detail" if draft_id else "group_detail",
        shown(actor, group_id=group_id, draft_id=draft_id),
    )
    verdict, rows = db.transaction(("reject_group", params), detail, isolation=SERIALIZABLE)
    refuse(verdict["outcome"], subject="draft" if draft_id else "group", id=draft_id or group_id)
    return draft_body(rows) if draft_id else group_body(rows)


def rename(db: Database, group_id: int, name: str, actor: Actor) -> dict:
    params = {"group_id": group_id, "name": name, "actor_id": actor.id, "actor_is_admin": actor.is_admin}
    verdict, rows = db.transaction(
        ("rename_group", params), ("group_detail", shown(actor, group_id=group_id))
    )
    refuse(verdict["outcome"], subject="group", id=group_id)
    return group_body(rows)


def edit(db: Database, draft_id: int, changes: dict[str, Any], actor: Actor) -> dict:
    """Changes quantity_kg and/or note of a DRAFT line (admin or creator); audited as EDIT."""
    problems: dict[str, str] = {}
    q = (
        quantity(changes["quantity_kg"], "quantity_kg", MIN_Q, MAX_Q, problems)
        if "quantity_kg" in changes
        else None
    )
    if problems:
        raise ValidationFailed(problems)
    params = {
        "draft_id": draft_id,
        "quantity_kg": q,
        "set_note": "note" in changes,
        "note": changes.get("note"),
        "actor_id": actor.id,
        "actor_is_admin": actor.is_admin,
    }
    verdict, row = db.transaction(("edit_draft", params), ("draft_detail", shown(actor, draft_id=draft_id)))
    refuse(verdict["outcome"], subject="draft", id=draft_id)
    return draft_body(row)
