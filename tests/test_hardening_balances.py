"""Issue 14's balance, export and timestamp findings: balances that could be pushed past their column,
CSV cells a spreadsheet would run as formulas, and the one timestamp format of every answer."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import datetime
from decimal import Decimal

import psycopg
import pytest

from service.statements import Statements

from .api import adjust, count, new_article, paint_line, parse_csv, receive

pytestmark = pytest.mark.usefixtures("reconciled")

MAXIMUM = Decimal("999999999.99")
COLUMN_LIMIT = "999999999999.99"  # numeric(14,2): what a balance built before the bound may hold


def out_of_range(answer, current: str, requested: str) -> dict:
    """The 409's details, after checking they are the bound's and all scalars (a client renders them
    as `key: value` lines)."""
    assert answer.status_code == 409, answer.text
    error = answer.json["error"]
    assert error["code"] == "BALANCE_OUT_OF_RANGE"
    details = error["details"]
    assert all(not isinstance(value, dict | list) for value in details.values()), details
    assert (details["current_qty"], details["requested_qty"], details["maximum_qty"]) == (
        float(current),
        float(requested),
        float(MAXIMUM),
    )
    return details


def test_adjusting_stock_up_repeatedly_ends_in_409_balance_out_of_range_not_500(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch()
    step = "999999999.99"
    for _ in range(1_005):  # the probe: call 1,004 was a 500 and left the batch dead
        answer = adjust(client, as_admin, article, batch, "stock", "delta", step)
        if answer.status_code != 200:
            break
    details = out_of_range(answer, step, "1999999999.98")
    assert details["target"] == "stock"
    assert stockroom.balances(batch) == (step, "0.00")


def test_a_key_at_the_maximum_refuses_more_and_still_takes_decreases_receipts_and_counts(
    client, as_admin, stockroom
):
    article, batch = stockroom.paint_batch()
    code = batch_code(stockroom, batch)
    assert adjust(client, as_admin, article, batch, "stock", "set", str(MAXIMUM)).status_code == 200
    before = stockroom.snapshot()

    refused = receive(client, as_admin, **paint_line(article, code=code, quantity="1"))
    out_of_range(refused, "999999999.99", "1000000000.99")
    refused = adjust(client, as_admin, article, batch, "stock", "delta", "0.01")
    out_of_range(refused, "999999999.99", "1000000000.00")
    assert stockroom.snapshot() == before

    assert adjust(client, as_admin, article, batch, "stock", "delta", "-5").status_code == 200
    received = receive(client, as_admin, **paint_line(article, code=code, quantity="5"))
    assert received.status_code == 201, received.text
    assert received.json["new_stock"] == float(MAXIMUM)
    counted = count(client, as_admin, article, batch, str(MAXIMUM))
    assert counted.status_code == 200, counted.text
    assert counted.json["result"] == "no_change"
    assert stockroom.balances(batch) == (str(MAXIMUM), "0.00")


def test_a_key_booked_past_the_maximum_answers_409_not_500_and_can_still_be_lowered(
    client, as_admin, stockroom
):
    # what the unbounded statements left behind: the column's own limit
    article, batch = stockroom.paint_batch(stock=COLUMN_LIMIT)
    code = batch_code(stockroom, batch)
    out_of_range(
        receive(client, as_admin, **paint_line(article, code=code, quantity="0.01")),
        COLUMN_LIMIT,
        "1000000000000.00",
    )
    out_of_range(
        adjust(client, as_admin, article, batch, "stock", "delta", "0.01"), COLUMN_LIMIT, "1000000000000.00"
    )
    too_many_lines = count(client, as_admin, article, batch, "0")
    assert too_many_lines.status_code == 409 and too_many_lines.json["error"]["code"] == "SHORTAGE_TOO_LARGE"
    lowered = adjust(client, as_admin, article, batch, "stock", "delta", "-999999999.99")
    assert lowered.status_code == 200, lowered.text
    assert stockroom.balances(batch) == ("999000000000.00", "0.00")


def test_a_receipt_that_would_take_stock_past_the_maximum_is_409_and_books_nothing(
    client, as_admin, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="999999995.00")
    other, _ = stockroom.paint_batch()
    code = batch_code(stockroom, batch)
    before = stockroom.snapshot()
    lines = [
        paint_line(other, code="55555", quantity="1"),
        paint_line(article, code=code, quantity="3"),
        paint_line(article, code=code, quantity="3"),  # 3 + 3 on one key: 1,000,000,001.00
    ]
    answer = receive(client, as_admin, lines=lines, client_event_id="overflowing-receipt")
    details = out_of_range(answer, "999999995.00", "1000000001.00")
    assert (details["article_id"], details["batch_id"], details["batch_code"]) == (article, batch, code)
    assert details["line"] == 1
    assert stockroom.snapshot() == before
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM receipts").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM batches WHERE batch_code = '55555'").fetchone()[0] == 0
    lines[2]["quantity_kg"] = "1.99"  # exactly the maximum
    assert receive(client, as_admin, lines=lines).status_code == 201


def test_the_count_statement_refuses_a_surplus_past_the_maximum_and_writes_nothing(
    client, as_admin, stockroom, database_url, accounts
):
    # over HTTP a counted total is at most the maximum, so a count alone cannot pass it; the statement
    # keeps the bound itself, whoever calls it
    article, batch = stockroom.paint_batch(stock="10")
    before = stockroom.snapshot()
    params = {
        "location_id": None,
        "default_location_code": "13",
        "article_id": article,
        "batch_id": batch,
        "counted_total": Decimal("1000000000000.00"),
        "note": None,
        "client_event_id": None,
        "request": "{}",
        "user_id": accounts["admin"],
        "max_lines": 500,
        "max_balance": MAXIMUM,
    }
    with psycopg.connect(database_url, autocommit=True, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute(Statements().count_inventory, params).fetchone()
        assert row["outcome"] == "out_of_range"
        assert (row["current_qty"], row["requested_qty"]) == (Decimal("0.00"), Decimal("999999999990.00"))
        assert conn.execute("SELECT count(*) FROM inventory_counts").fetchone()["count"] == 0
    assert stockroom.snapshot() == before
    at_the_maximum = count(client, as_admin, article, batch, str(MAXIMUM))
    assert at_the_maximum.status_code == 200 and at_the_maximum.json["surplus_added"] == 999999989.99
    over = count(client, as_admin, article, batch, "1000000000.00")
    assert over.status_code == 400 and "counted_total_qty" in over.json["error"]["details"]["fields"]


def batch_code(stockroom, batch_id: int) -> str:
    return stockroom._one("SELECT batch_code FROM batches WHERE id = %s", (batch_id,))[0]


# --- finding 4: no cell of an export can start a formula, in any locale ----------------------------

FORMULAS = ["x;=1+1", " =1+1", "\u00a0=1+1", "\uff1d1+1", "@SUM(A1)", "-2+3", "\t=1", "a,\u3000+1", 'b"=1']

# what the export makes of each: a single quote wherever a cell could start, in any locale
NEUTRALISED = [
    "x;'=1+1",
    "' =1+1",
    "'\u00a0=1+1",
    "'\uff1d1+1",
    "'@SUM(A1)",
    "'-2+3",
    "'\t'=1",
    "a,'\u3000+1",
    "b\"'=1",
]


def starts_a_formula(piece: str) -> bool:
    """What a spreadsheet would run: a piece whose first non-blank character is a formula sign (after
    NFKC), or which starts with a tab or CR."""
    if piece[:1] in ("\t", "\r"):
        return True
    visible = "".join(ch for ch in piece if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return unicodedata.normalize("NFKC", visible[:1])[:1] in ("=", "+", "-", "@")


def csv_export(client, as_admin, path: str) -> str:
    answer = client.simulate_get(path, headers=as_admin, params={"format": "csv"})
    parse_csv(answer)  # status, content type and disposition
    return answer.content.decode("utf-8")


def test_no_csv_cell_starts_a_formula_whichever_separator_the_spreadsheet_splits_on(
    client, as_admin, stockroom
):
    lines = []
    for n, formula in enumerate(FORMULAS):
        article = new_article(client, as_admin, description=formula)
        lines.append(paint_line(article["id"], code=f"{20000 + n}", quantity="1", note=formula))
    assert receive(client, as_admin, lines=lines).status_code == 201

    for path in ("/api/reports/transactions", "/api/reports/inventory"):
        text = csv_export(client, as_admin, path)
        for delimiter in (",", ";", "\t"):
            pieces = [
                cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row
            ]
            assert [p for p in pieces if starts_a_formula(p)] == [], (path, delimiter)
        rows = list(csv.reader(io.StringIO(text, newline="")))
        header, data = rows[0], rows[1:]
        assert all(len(row) == len(header) for row in data), "a separator inside a cell split it"
        if path.endswith("transactions"):  # notes are kept as sent: each comes back whole, made inert
            assert [row[header.index("note")] for row in data] == NEUTRALISED


def test_numbers_stay_bare_numbers_and_text_is_quoted_in_the_csv(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    assert adjust(client, as_admin, article, batch, "stock", "delta", "-2.5").status_code == 200
    text = csv_export(client, as_admin, "/api/reports/transactions")
    last = text.splitlines()[-1].split(",")
    assert "-2.50" in last and str(batch) in last  # a negative quantity is a number, not a formula
    assert '"INVENTORY_ADJUSTMENT"' in last and '"STOCK"' in last


# --- finding 11: one timestamp format, UTC ending in Z ---------------------------------------------


def utc_instant(text: str) -> datetime:
    assert text.endswith("Z"), text
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.utcoffset().total_seconds() == 0
    return parsed


def test_patching_a_user_answers_its_timestamps_in_utc_ending_in_z(client, as_admin, accounts):
    answer = client.simulate_patch(
        f"/api/users/{accounts['operator']}", headers=as_admin, json={"is_active": False}
    )
    assert answer.status_code == 200, answer.text
    user = answer.json
    assert utc_instant(user["updated_at"]) >= utc_instant(user["created_at"])
    listed = client.simulate_get("/api/users", headers=as_admin).json["items"]
    assert [u for u in listed if u["id"] == accounts["operator"]] == [user]


def test_csv_timestamps_are_utc_ending_in_z_like_the_json_answers(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    assert adjust(client, as_admin, article, batch, "stock", "delta", "1").status_code == 200
    for path, column in (
        ("/api/reports/transactions", "occurred_at"),
        ("/api/reports/inventory", "updated_at"),
    ):
        rows = list(csv.reader(io.StringIO(csv_export(client, as_admin, path), newline="")))
        stamps = [row[rows[0].index(column)] for row in rows[1:]]
        assert stamps and all(utc_instant(stamp) for stamp in stamps)
        as_json = client.simulate_get(path, headers=as_admin).json["items"]
        assert [item[column] for item in as_json] == stamps
