"""Inventory: receiving, receipt history, counts, adjustments, the summary and the reconciliation.

Each function takes the database it runs on (`db`: the `Database`, or the `Unit` of a keyed request)
and plain values; it returns rows in the answer's shape, or raises the error of a refusal
(service/errors.py). Every write moves a balance, so each is one data-modifying statement
(sql/inventory.sql) run SERIALIZABLE, writing its ledger rows in the same statement.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any

from . import stock_shapes
from .db import REPEATABLE_READ, Database
from .draft_groups import MAX_LINES
from .errors import ValidationFailed
from .media import dumps
from .refusals import MAX_BALANCE, refuse
from .validation import quantity

MIN_RECEIPT, MAX_RECEIPT = Decimal("0.01"), Decimal("999999.99")
# The largest amount a count or an adjustment may name: the most one balance (a key's stock or its
# surplus) may hold, a thousandth of numeric(14,2)'s range, so sums over many keys still fit the type.
MAX_AMOUNT = MAX_BALANCE

RECEIPT_LINE_FIELDS = stock_shapes.ReceiptLine.__struct_fields__
HISTORY_LINE_FIELDS = stock_shapes.HistoryLine.__struct_fields__
HISTORY_TOTALS = ("line_count", "total_quantity", "lines")  # added up from the lines
HISTORY_FIELDS = tuple(f for f in stock_shapes.HistoryReceipt.__struct_fields__ if f not in HISTORY_TOTALS)
COUNT_FIELDS = stock_shapes.Count.__struct_fields__
ADJUST_FIELDS = stock_shapes.Adjustment.__struct_fields__
SUMMARY_FIELDS = stock_shapes.InventoryRow.__struct_fields__
# list_inventory's rows, a page or all of them (the whole summary, the inventory report)
SUMMARY_LIST = "list_inventory"
SUMMARY_POSITION = ("after_location", "after_article", "after_expiry", "after_code")


def order_number(value: str, problems: dict[str, str]) -> str | None:
    """Trimmed and upper-cased, 1 to 50 characters, no control characters."""
    normal = value.strip().upper()
    if not 1 <= len(normal) <= 50 or any(unicodedata.category(ch) == "Cc" for ch in normal):
        problems["order_number"] = "must be 1 to 50 characters after trimming, without control characters"
        return None
    return normal


# --- receiving ----------------------------------------------------------------------------------------


def receive(
    db: Database,
    user_id: int,
    raw_order_number: str,
    raw_lines: list[dict],
    *,
    single: bool,
    location_id: int | None,
    received_date: str | None,
    client_event_id: str | None,
    default_location_code: str,
) -> tuple[dict, bool]:
    """(the receipt, created?): every line booked or none, in one statement. `single`: the request named
    one line's fields at the top level, and the answer repeats them there. A re-send of the same
    client_event_id is a replay: the first receipt, not created."""
    prefix = "" if single else "lines"
    problems: dict[str, str] = {}
    order = order_number(raw_order_number, problems)
    lines = []
    for n, line in enumerate(raw_lines):
        path = f"{prefix}[{n}]." if prefix else ""
        q = quantity(line["quantity_kg"], f"{path}quantity_kg", MIN_RECEIPT, MAX_RECEIPT, problems)
        given = {field: line.get(field) for field in ("article_id", "batch_code", "expiry_date", "note")}
        lines.append({"n": n, **given, "quantity_kg": str(q) if q is not None else None})
    if problems:
        raise ValidationFailed(problems)
    header = {"order_number": order, "location_id": location_id, "received_date": received_date}
    request = {**header, "single": single, "lines": lines}
    params = {**request, **booking(request, lines, client_event_id, user_id)}
    params["default_location_code"] = default_location_code
    rows = db.write("receive_stock", params)
    outcome, problems = rows[0]["outcome"], rows[0]["problems"] or []
    refuse(
        outcome,
        problems=problems,
        prefix=prefix,
        client_event_ids=[client_event_id],
        location_id=location_id,
        default_location_code=default_location_code,
        target="stock",
        **_first_past_maximum(problems),
    )
    return receipt_body(rows, single), outcome == "create"


def booking(request: dict, lines: list[dict], client_event_id: str | None, user_id: int) -> dict[str, Any]:
    """The parameters a booking of lines (a receipt, a transfer) shares: the lines and the whole request as
    JSON (a repeated client_event_id replays only the same request), who books, the balance maximum."""
    return {
        "lines": dumps(lines).decode(),
        "client_event_id": client_event_id,
        "request": dumps(request).decode(),
        "user_id": user_id,
        "max_balance": MAX_BALANCE,
    }


def _first_past_maximum(problems: list[dict]) -> dict[str, Any]:
    """What an out_of_range refusal of receive_stock names: the first line whose key would pass the
    maximum (its problems carry the balances; other refusals' problems do not)."""
    if not problems or "current_qty" not in problems[0]:
        return {}
    first = problems[0]  # n, article_id, batch_id, batch_code and the balances as text
    current, requested = Decimal(first["current_qty"]), Decimal(first["requested_qty"])
    return {**first, "line": first["n"], "current_qty": current, "requested_qty": requested}


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


def receipt_history(db: Database, filters: dict[str, Any], page: dict) -> tuple[list[dict], int]:
    """(receipts, total): one page of receipts, newest first, each with its lines; each receipt keeps
    its keyset position `id`. `page`: `limit` and `after_id`."""
    rows, total = db.transaction(
        ("list_receipts", {**filters, **page}),
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
    return list(receipts.values()), total["total"]


# --- counts and adjustments ---------------------------------------------------------------------------


def count(
    db: Database,
    user_id: int,
    *,
    location_id: int | None,
    article_id: int,
    batch_id: int,
    counted_total_qty: Any,
    note: str | None,
    client_event_id: str | None,
    default_location_code: str,
) -> dict:
    """Books a count of one (location, batch): over adds surplus, under takes surplus first and drafts
    the rest as an INVENTORY_SHORTAGE group. A re-send of the same client_event_id answers the first."""
    problems: dict[str, str] = {}
    counted = quantity(counted_total_qty, "counted_total_qty", Decimal("0.00"), MAX_AMOUNT, problems)
    if problems:
        raise ValidationFailed(problems)
    key = {"location_id": location_id, "article_id": article_id, "batch_id": batch_id}
    request = {**key, "counted_total_qty": str(counted), "note": note}
    params = {
        **key,
        "default_location_code": default_location_code,
        "counted_total": counted,
        "note": note,
        "client_event_id": client_event_id,
        "request": dumps(request).decode(),
        "user_id": user_id,
        "max_lines": MAX_LINES,
        "max_balance": MAX_BALANCE,
    }
    row = db.write("count_inventory", params)
    refuse(
        row["outcome"],
        location_id=location_id,
        default_location_code=default_location_code,
        client_event_ids=[client_event_id],
        target="surplus",
        current_qty=row["current_qty"],
        requested_qty=row["requested_qty"],
        max_lines=MAX_LINES,
    )
    return {field: row[field] for field in COUNT_FIELDS}


def adjust(
    db: Database,
    user_id: int,
    *,
    location_id: int | None,
    article_id: int,
    batch_id: int,
    target: str,
    mode: str,
    quantity_kg: Any,
    note: str,
    default_location_code: str,
) -> dict:
    """Sets (`mode` set) or changes (delta) the stock or surplus (`target`) of one (location, batch);
    never below zero nor up past MAX_BALANCE."""
    problems: dict[str, str] = {}
    low = Decimal("0.00") if mode == "set" else -MAX_AMOUNT
    q = quantity(quantity_kg, "quantity_kg", low, MAX_AMOUNT, problems)
    if q == 0 and mode == "delta":
        problems["quantity_kg"] = "must not be zero for a delta"
    note = note.strip()
    if not note:
        problems["note"] = "must not be blank"
    if problems:
        raise ValidationFailed(problems)
    key = {"location_id": location_id, "article_id": article_id, "batch_id": batch_id}
    change = {"target": target, "mode": mode, "quantity_kg": q, "note": note, "user_id": user_id}
    params = {**key, **change, "default_location_code": default_location_code, "max_balance": MAX_BALANCE}
    row = db.write("adjust_inventory", params)
    refuse(
        row["outcome"],
        location_id=location_id,
        default_location_code=default_location_code,
        target=target,
        current_qty=row["previous_qty"],
        requested_qty=row["new_qty"],
    )
    return {
        **{field: row.get(field) for field in ADJUST_FIELDS},
        "target": target,
        "mode": mode,
        "note": note,
    }


# --- the summary and the reconciliation ---------------------------------------------------------------


def summary_after(after: list | None) -> dict[str, Any]:
    """list_inventory's keyset position after `after` (location, article, expiry, batch code: a cursor's
    values, already checked for their kinds), or the first page's."""
    return dict(zip(SUMMARY_POSITION, after or (None,) * 4, strict=True))


def whole_summary(filters: dict[str, Any]) -> dict[str, Any]:
    """list_inventory's parameters for every row the filters allow."""
    return {**filters, **summary_after(None), "limit": None}


def summary(db: Database, filters: dict[str, Any], after: dict[str, Any], limit: int) -> tuple[list, int]:
    """(rows, total): `limit` rows (and one more when another page follows) after the position `after`
    (see `summary_after`); each row has SUMMARY_FIELDS and its keyset position (see `summary_key`)."""
    rows, total = db.transaction(
        (SUMMARY_LIST, {**filters, **after, "limit": limit + 1}),
        ("count_inventory_rows", filters),
        isolation=REPEATABLE_READ,
    )
    return rows, total["total"]


def summary_key(row: dict) -> list:
    return [row["location_id"], row["sort_article"], row["sort_expiry"], row["batch_code"]]


def summary_item(row: dict) -> dict:
    return {field: row[field] for field in SUMMARY_FIELDS}


def reconcile(db: Database) -> dict:
    """Every (location, batch, bucket) whose balance differs from its ledger sum, as one page, and the DRAFT
    groups whose entry in pending_groups (the queue the DRAFT list reads) is wrong, missing or extra."""
    rows, drift = db.transaction(
        ("reconcile_inventory", None), ("pending_groups_drift", None), isolation=REPEATABLE_READ
    )
    drifted = [row["group_id"] for row in drift]
    return {"items": rows, "total": len(rows), "next_cursor": None, "pending_group_drift": drifted}
