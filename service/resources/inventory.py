"""Inventory: receiving, receipt history, counts, adjustments, the summary and the reconciliation.

Every write here moves a balance, so each is one data-modifying statement (sql/inventory.sql) run
SERIALIZABLE through `Database.serializable`, writing its ledger rows in the same statement.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import falcon

from .. import shapes, stock_shapes
from ..auth import ADMIN, User
from ..db import REPEATABLE_READ, Database
from ..draft_groups import MAX_LINES
from ..errors import BATCH_RULE, AppError, Conflict, NotFound, ValidationFailed, line_problems
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..media import dumps
from ..openapi import operation, query
from ..pagination import LIST_PARAMS, Page
from ..validation import (
    DATE,
    ID,
    QUANTITY,
    Schema,
    obj,
    quantity,
    query_bool,
    query_date,
    query_int,
    query_param,
    text,
)

MIN_RECEIPT, MAX_RECEIPT = Decimal("0.01"), Decimal("999999.99")
MAX_AMOUNT = Decimal("999999999.99")
# The most one balance (a key's stock or its surplus) may hold: the largest amount a count or an
# adjustment may name, a thousandth of numeric(14,2)'s range, so sums over many keys still fit the type.
MAX_BALANCE = MAX_AMOUNT
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

RECEIPT_LINE_FIELDS = stock_shapes.ReceiptLine.__struct_fields__
HISTORY_LINE_FIELDS = stock_shapes.HistoryLine.__struct_fields__
HISTORY_FIELDS = tuple(
    f
    for f in stock_shapes.HistoryReceipt.__struct_fields__
    if f not in ("line_count", "total_quantity", "lines")
)
COUNT_FIELDS = stock_shapes.Count.__struct_fields__
ADJUST_FIELDS = stock_shapes.Adjustment.__struct_fields__
SUMMARY_FIELDS = stock_shapes.InventoryRow.__struct_fields__

# code: (status, message, field); the first kind present is the error, every problem is in details.lines
RECEIPT_PROBLEMS = {
    "ARTICLE_NOT_FOUND": (404, "Article not found.", "article_id"),
    "BATCH_REQUIRED": (400, "Paint lines need a batch_code.", "batch_code"),
    "INVALID_BATCH_FORMAT": (400, BATCH_RULE, "batch_code"),
    "EXPIRY_REQUIRED": (400, "Paint lines need an expiry_date.", "expiry_date"),
    "ARTICLE_ARCHIVED": (409, "The article is archived and takes no receipts.", "article_id"),
    "BATCH_INACTIVE": (409, "The batch is inactive and takes no receipts.", "batch_code"),
    "BATCH_EXPIRY_MISMATCH": (409, "The batch has another expiry date.", "expiry_date"),
}
# outcome: error, shared by count and adjust
KEY_PROBLEMS = {
    "article_not_found": lambda: NotFound("article"),
    "batch_not_found": lambda: NotFound("batch"),
    "batch_article_mismatch": lambda: AppError(
        "The batch belongs to another article.",
        code="BATCH_ARTICLE_MISMATCH",
        details={"fields": {"batch_id": "belongs to another article"}},
    ),
    "article_archived": lambda: Conflict(
        "ARTICLE_ARCHIVED", "The article is archived; restore it to count it."
    ),
    "batch_inactive": lambda: Conflict("BATCH_INACTIVE", "The batch is inactive; reactivate it to count it."),
}


def order_number(value: str, problems: dict[str, str]) -> str | None:
    """Trimmed and upper-cased, 1 to 50 characters, no control characters."""
    normal = value.strip().upper()
    if not 1 <= len(normal) <= 50 or any(unicodedata.category(ch) == "Cc" for ch in normal):
        problems["order_number"] = "must be 1 to 50 characters after trimming, without control characters"
        return None
    return normal


def location_missing(location_id: int | None, default_location_code: str) -> NotFound:
    if location_id is None:
        return NotFound(
            "location",
            f"The default location {default_location_code!r} does not exist.",
            location_code=default_location_code,
        )
    return NotFound("location", id=location_id)


def duplicate_event(client_event_id: str) -> Conflict:
    return Conflict(
        "DUPLICATE_EVENT_ID",
        f"client_event_id {client_event_id!r} was already used for a different request.",
        client_event_ids=[client_event_id],
    )


def out_of_range(target: str, current: Decimal, requested: Decimal, **where: Any) -> Conflict:
    """409 for a move that would take a balance past MAX_BALANCE; details stay scalars."""
    return Conflict(
        "BALANCE_OUT_OF_RANGE",
        f"The {target} would be {requested}, above the maximum of {MAX_BALANCE} a balance may hold.",
        target=target,
        **where,
        current_qty=current,
        requested_qty=requested,
        maximum_qty=MAX_BALANCE,
    )


def receipt_error(result: dict, prefix: str) -> AppError:
    figures = ("article_id", "batch_code", "expiry_date", "existing_expiry_date")
    return line_problems(result["problems"] or [], RECEIPT_PROBLEMS, prefix, figures)


def receipt_body(rows: list[dict], single: bool) -> dict:
    first = rows[0]
    lines = [{field: row[field] for field in RECEIPT_LINE_FIELDS} for row in rows]
    body = {
        "receipt_key": first["receipt_key"],
        "order_number": first["order_number"],
        "location_id": first["location_id"],
        "received_date": first["received_date"],
        "received_at": first["received_at"],
        "client_event_id": first["client_event_id"],
        "line_count": len(lines),
        "total_quantity": sum((line["quantity_received"] for line in lines), Decimal("0.00")),
        "lines": lines,
    }
    if single:
        body.update(lines[0])
    return body


def key_params(body: dict, default_location_code: str) -> dict[str, Any]:
    return {
        "location_id": body.get("location_id"),
        "default_location_code": default_location_code,
        "article_id": body["article_id"],
        "batch_id": body["batch_id"],
    }


class Receive:
    doc = {
        "post": operation(
            "Receive stock: one line or `lines`, all or none; a repeated client_event_id answers 200 "
            "with the first receipt and books nothing",
            access=ADMIN,
            body=RECEIVE.schema,
            ok=201,
            response=stock_shapes.Receipt,
            errors=(404, 409, 503),
        )
    }

    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = RECEIVE.parse(req)
        single = "lines" not in body
        given_line_fields = sorted(set(RECEIPT_LINE_INPUT) & set(body))
        if not single and given_line_fields:
            raise ValidationFailed(
                {f: "send either `lines` or the fields of one line, not both" for f in given_line_fields}
            )
        if single and (missing := [f for f in ("article_id", "quantity_kg") if f not in body]):
            raise ValidationFailed({f: "is required" for f in missing})
        raw_lines = [body] if single else body["lines"]
        prefix = "" if single else "lines"
        problems: dict[str, str] = {}
        order = order_number(body["order_number"], problems)
        lines = []
        for n, line in enumerate(raw_lines):
            path = f"{prefix}[{n}]." if prefix else ""
            q = quantity(line["quantity_kg"], f"{path}quantity_kg", MIN_RECEIPT, MAX_RECEIPT, problems)
            lines.append(
                {
                    "n": n,
                    "article_id": line["article_id"],
                    "batch_code": line.get("batch_code"),
                    "quantity_kg": str(q) if q is not None else None,
                    "expiry_date": line.get("expiry_date"),
                    "note": line.get("note"),
                }
            )
        if problems:
            raise ValidationFailed(problems)
        user: User = req.context.user
        request = {
            "order_number": order,
            "location_id": body.get("location_id"),
            "received_date": body.get("received_date"),
            "single": single,
            "lines": lines,
        }
        params = {
            "lines": dumps(lines).decode(),
            "order_number": order,
            "location_id": body.get("location_id"),
            "default_location_code": self.default_location_code,
            "received_date": body.get("received_date"),
            "client_event_id": body.get("client_event_id"),
            "request": dumps(request).decode(),
            "user_id": user.id,
            "max_balance": MAX_BALANCE,
        }
        rows = db.write("receive_stock", params)
        outcome = rows[0]["outcome"]
        if outcome == "location_not_found":
            raise location_missing(body.get("location_id"), self.default_location_code)
        if outcome == "duplicate_event":
            raise duplicate_event(body["client_event_id"])
        if outcome == "invalid_receipt_lines":
            raise receipt_error(rows[0], prefix)
        if outcome == "out_of_range":
            first = rows[0]["problems"][0]  # the first line whose key would pass the maximum
            raise out_of_range(
                "stock",
                Decimal(first["current_qty"]),
                Decimal(first["requested_qty"]),
                line=first["n"],
                article_id=first["article_id"],
                batch_id=first["batch_id"],
                batch_code=first["batch_code"],
            )
        resp.status = falcon.HTTP_201 if outcome == "create" else falcon.HTTP_200
        resp.media = receipt_body(rows, single)


class Receipts:
    doc = {
        "get": operation(
            "Receipt history, newest first, lines grouped per receipt",
            access=ADMIN,
            response=stock_shapes.ReceiptHistory,
            params=[
                *LIST_PARAMS,
                query("order_number", {"type": "string"}, "trimmed and upper-cased, exact"),
                query("from", DATE, "received_date on or after"),
                query("to", DATE, "received_date on or before"),
            ],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        problems: dict[str, str] = {}
        raw_order = query_param(req, "order_number")
        filters = {
            "order_number": order_number(raw_order, problems) if raw_order else None,
            "from": query_date(req, "from"),
            "to": query_date(req, "to"),
        }
        if problems:
            raise ValidationFailed(problems)
        rows, total = self.db.transaction(
            ("list_receipts", {**filters, **page.params()}),
            ("count_receipts", filters),
            isolation=REPEATABLE_READ,
        )
        receipts: dict[int, dict] = {}
        for row in rows:
            receipt = receipts.get(row["id"])
            if receipt is None:
                receipt = receipts[row["id"]] = {
                    "id": row["id"],
                    **{field: row[field] for field in HISTORY_FIELDS},
                    "line_count": 0,
                    "total_quantity": Decimal("0.00"),
                    "lines": [],
                }
            receipt["lines"].append({field: row[field] for field in HISTORY_LINE_FIELDS})
            receipt["line_count"] += 1
            receipt["total_quantity"] += row["quantity_kg"]
        body = page.answer(list(receipts.values()), total["total"])
        for item in body["items"]:
            del item["id"]
        # the older desktop client reads `history`, not `items` (SPEC §5)
        resp.media = {"history": body["items"], "total": body["total"], "next_cursor": body["next_cursor"]}


class Count:
    doc = {
        "post": operation(
            "Inventory count of one (location, batch): over adds surplus, under takes surplus first and "
            "drafts the rest as an INVENTORY_SHORTAGE group",
            access=ADMIN,
            body=COUNT.schema,
            response=stock_shapes.Count,
            errors=(404, 409, 503),
        )
    }

    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = COUNT.parse(req)
        problems: dict[str, str] = {}
        counted = quantity(
            body["counted_total_qty"], "counted_total_qty", Decimal("0.00"), MAX_AMOUNT, problems
        )
        if problems:
            raise ValidationFailed(problems)
        user: User = req.context.user
        request = {
            "location_id": body.get("location_id"),
            "article_id": body["article_id"],
            "batch_id": body["batch_id"],
            "counted_total_qty": str(counted),
            "note": body.get("note"),
        }
        params = {
            **key_params(body, self.default_location_code),
            "counted_total": counted,
            "note": body.get("note"),
            "client_event_id": body.get("client_event_id"),
            "request": dumps(request).decode(),
            "user_id": user.id,
            "max_lines": MAX_LINES,
            "max_balance": MAX_BALANCE,
        }
        row = db.write("count_inventory", params)
        outcome = row["outcome"]
        if outcome == "location_not_found":
            raise location_missing(body.get("location_id"), self.default_location_code)
        if outcome in KEY_PROBLEMS:
            raise KEY_PROBLEMS[outcome]()
        if outcome == "duplicate_event":
            raise duplicate_event(body["client_event_id"])
        if outcome == "out_of_range":
            raise out_of_range("surplus", row["current_qty"], row["requested_qty"])
        if outcome == "shortage_too_large":
            raise Conflict(
                "SHORTAGE_TOO_LARGE",
                f"The shortage needs more than {MAX_LINES} draft lines of 9999.99; use an adjustment.",
                max_lines=MAX_LINES,
            )
        resp.media = {field: row[field] for field in COUNT_FIELDS}


class Adjust:
    doc = {
        "post": operation(
            "Set or change stock or surplus of one (location, batch) directly; never below zero",
            access=ADMIN,
            body=ADJUST.schema,
            response=stock_shapes.Adjustment,
            errors=(404, 409, 503),
        )
    }

    def __init__(self, db: Database, default_location_code: str):
        self.db = db
        self.default_location_code = default_location_code

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = ADJUST.parse(req)
        problems: dict[str, str] = {}
        low = Decimal("0.00") if body["mode"] == "set" else -MAX_AMOUNT
        q = quantity(body["quantity_kg"], "quantity_kg", low, MAX_AMOUNT, problems)
        if q == 0 and body["mode"] == "delta":
            problems["quantity_kg"] = "must not be zero for a delta"
        note = body["note"].strip()
        if not note:
            problems["note"] = "must not be blank"
        if problems:
            raise ValidationFailed(problems)
        params = {
            **key_params(body, self.default_location_code),
            "target": body["target"],
            "mode": body["mode"],
            "quantity_kg": q,
            "note": note,
            "user_id": req.context.user.id,
            "max_balance": MAX_BALANCE,
        }
        row = db.write("adjust_inventory", params)
        outcome = row["outcome"]
        if outcome == "location_not_found":
            raise location_missing(body.get("location_id"), self.default_location_code)
        if outcome in KEY_PROBLEMS:
            raise KEY_PROBLEMS[outcome]()
        if outcome == "negative":
            raise Conflict(
                "NEGATIVE_INVENTORY_NOT_ALLOWED",
                f"The {body['target']} would go below zero.",
                target=body["target"],
                current_qty=row["previous_qty"],
                requested_qty=row["new_qty"],
            )
        if outcome == "out_of_range":
            raise out_of_range(body["target"], row["previous_qty"], row["new_qty"])
        resp.media = {
            **{field: row.get(field) for field in ADJUST_FIELDS},
            **{k: body[k] for k in ("target", "mode")},
            "note": note,
        }


class Summary:
    doc = {
        "get": operation(
            "Balances per (location, batch) with pending_qty; rows with total 0 only with include_empty",
            response=shapes.Page[stock_shapes.InventoryRow],
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

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        after = summary_after(page)
        filters = summary_filters(req)
        if wants_whole_list(req):
            params = {**filters, **after, "limit": None}
            return answer_whole(resp, self.db, "list_inventory", params, SUMMARY_FIELDS)
        rows, total = self.db.transaction(
            ("list_inventory", {**filters, **after, "limit": page.limit + 1}),
            ("count_inventory_rows", filters),
            isolation=REPEATABLE_READ,
        )
        body = page.answer(
            rows,
            total["total"],
            key=lambda r: [r["location_id"], r["sort_article"], r["sort_expiry"], r["batch_code"]],
        )
        body["items"] = [{field: row[field] for field in SUMMARY_FIELDS} for row in body["items"]]
        resp.media = body


def summary_filters(req: falcon.Request) -> dict[str, Any]:
    return {
        "location_id": query_int(req, "location_id"),
        "article_id": query_int(req, "article_id"),
        "batch_id": query_int(req, "batch_id"),
        "is_paint": query_bool(req, "is_paint"),
        "include_empty": bool(query_bool(req, "include_empty")),
    }


def summary_after(page: Page) -> dict[str, Any]:
    after = page.after_values(int, str, str, str)
    if after:
        try:
            if after[2] != "infinity":
                date.fromisoformat(after[2])
        except ValueError:
            raise ValidationFailed({"cursor": "is not a cursor this API issued"}) from None
    keys = ("after_location", "after_article", "after_expiry", "after_code")
    return dict(zip(keys, after or (None,) * 4, strict=True))


class Reconcile:
    doc = {
        "get": operation(
            "Every (location, batch, bucket) whose balance differs from its ledger sum; empty when healthy",
            access=ADMIN,
            response=shapes.Page[stock_shapes.Unreconciled],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        rows = self.db.query("reconcile_inventory")
        resp.media = {"items": rows, "total": len(rows), "next_cursor": None}
