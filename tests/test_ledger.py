"""The ledger list (`GET /api/transactions`) with every filter, and the reports as JSON and CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from .api import approve, create, line, new_article, paint_line, parse_csv, receive

pytestmark = pytest.mark.usefixtures("reconciled")


@pytest.fixture
def history(client, as_admin, stockroom):
    """All five movement types on two articles: receipts, a count over, an approved weigh-in."""
    paint = new_article(client, as_admin, description="Grundierung grau \u2013 \u00c4")
    other = new_article(client, as_admin, paint=False, description="=cmd|' /C calc'!A0")
    first = receive(client, as_admin, order="po-100", **paint_line(paint["id"], quantity="10")).json
    receive(client, as_admin, order="PO-200", article_id=other["id"], quantity_kg="5")
    batch = first["batch_id"]
    client.simulate_post(
        "/api/inventory/count",
        headers=as_admin,
        json={"article_id": paint["id"], "batch_id": batch, "counted_total_qty": "12", "note": "found a can"},
    )
    group = create(client, as_admin, [line(paint["id"], batch, "3")]).json
    approve(client, as_admin, group["id"])
    return {"paint": paint, "other": other, "batch": batch, "group": group["id"]}


def ledger(client, headers, **params):
    result = client.simulate_get("/api/transactions", headers=headers, params=params)
    assert result.status_code == 200, result.text
    return result.json


def test_ledger_lists_every_movement_newest_first_with_readable_names_and_no_total(client, as_admin, history):
    body = ledger(client, as_admin)
    assert "total" not in body and body["next_cursor"] is None
    assert [(t["tx_type"], t["bucket"], t["quantity_kg"]) for t in body["items"]] == [
        ("STOCK_CONSUMED", "STOCK", -1),
        ("SURPLUS_CONSUMED", "SURPLUS", -2),
        ("WEIGH_IN", None, 3),
        ("INVENTORY_ADJUSTMENT", "SURPLUS", 2),
        ("STOCK_RECEIPT", "STOCK", 5),
        ("STOCK_RECEIPT", "STOCK", 10),
    ]
    receipt = body["items"][-1]
    assert receipt["order_number"] == "PO-100" and receipt["receipt_key"].startswith("R")
    assert receipt["article_no"] == history["paint"]["article_no"] and receipt["batch_code"] == "12345"
    assert receipt["location_code"] == "13" and receipt["user_name"] == "admin"
    assert body["items"][3]["note"] == "found a can"
    assert body["items"][0]["draft_group_id"] == history["group"] and body["items"][0]["draft_id"]


def test_ledger_filters_by_each_of_the_five_tx_types(client, as_admin, history):
    for tx_type, expected in (
        ("WEIGH_IN", 1),
        ("SURPLUS_CONSUMED", 1),
        ("STOCK_CONSUMED", 1),
        ("INVENTORY_ADJUSTMENT", 1),
        ("STOCK_RECEIPT", 2),
    ):
        items = ledger(client, as_admin, tx_type=tx_type)["items"]
        assert len(items) == expected and {t["tx_type"] for t in items} == {tx_type}, tx_type


def test_ledger_filters_by_bucket_key_and_order_number(client, as_admin, history, stockroom):
    assert len(ledger(client, as_admin, bucket="STOCK")["items"]) == 3
    assert len(ledger(client, as_admin, bucket="SURPLUS")["items"]) == 2
    assert len(ledger(client, as_admin, article_id=history["other"]["id"])["items"]) == 1
    assert len(ledger(client, as_admin, batch_id=history["batch"])["items"]) == 5
    assert len(ledger(client, as_admin, location_id=stockroom.location("13"))["items"]) == 6
    assert ledger(client, as_admin, location_id=stockroom.location("14"))["items"] == []
    by_order = ledger(client, as_admin, order_number=" po-200 ")["items"]
    assert [t["article_id"] for t in by_order] == [history["other"]["id"]]


def test_ledger_filters_by_dates_and_timestamps_inclusive_of_to(client, as_admin, history):
    items = ledger(client, as_admin)["items"]
    today = datetime.now(UTC).date()
    assert len(ledger(client, as_admin, **{"from": str(today), "to": str(today)})["items"]) == 6
    assert ledger(client, as_admin, to=str(today - timedelta(days=1)))["items"] == []
    assert ledger(client, as_admin, **{"from": str(today + timedelta(days=1))})["items"] == []
    oldest = items[-1]["occurred_at"]
    assert [t["id"] for t in ledger(client, as_admin, to=oldest)["items"]] == [items[-1]["id"]]
    newest = datetime.fromisoformat(items[0]["occurred_at"])
    later = (newest + timedelta(microseconds=1)).isoformat()
    assert ledger(client, as_admin, **{"from": later})["items"] == []
    # an unencoded '+' of the offset arrives as a space and is still understood
    spaced = client.simulate_get(
        "/api/transactions", headers=as_admin, query_string="to=" + oldest.replace("+", "%20")
    )
    assert [t["id"] for t in spaced.json["items"]] == [items[-1]["id"]]


def test_bad_ledger_filters_are_400_naming_the_parameter(client, as_admin):
    for params in (
        {"tx_type": "TRANSFER"},
        {"bucket": "NONE"},
        {"from": "yesterday"},
        {"to": "2024-02-30"},
        {"from": "\uff12\uff10\uff12\uff14-01-01"},
        {"location_id": "1e3"},
        {"order_number": "PO\u00001"},
        {"limit": "0"},
        {"cursor": "not-a-cursor"},
    ):
        paths = ["/api/transactions"] + (
            [] if {"limit", "cursor"} & set(params) else ["/api/reports/transactions"]
        )
        for path in paths:  # the report takes the ledger's filters, not its paging
            result = client.simulate_get(path, headers=as_admin, params=params)
            assert result.status_code == 400, (path, result.text)
            assert set(result.json["error"]["details"]["fields"]) == set(params), (path, params)


def test_ledger_pages_by_id_without_repeats(client, as_admin, history):
    everything = [t["id"] for t in ledger(client, as_admin)["items"]]
    seen, cursor = [], None
    while True:
        page = ledger(client, as_admin, limit=4, **({"cursor": cursor} if cursor else {}))
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == everything


def test_transactions_report_as_csv_has_a_header_and_one_row_per_movement_oldest_first(
    client, as_admin, history
):
    rows = parse_csv(
        client.simulate_get("/api/reports/transactions", headers=as_admin, params={"format": "csv"})
    )
    header, data = rows[0], rows[1:]
    assert header[:5] == ["id", "occurred_at", "tx_type", "bucket", "quantity_kg"]
    assert [r[2] for r in data] == [
        "STOCK_RECEIPT",
        "STOCK_RECEIPT",
        "INVENTORY_ADJUSTMENT",
        "WEIGH_IN",
        "SURPLUS_CONSUMED",
        "STOCK_CONSUMED",
    ]
    column = {name: n for n, name in enumerate(header)}
    assert data[0][column["description"]] == "Grundierung grau \u2013 \u00c4"
    assert data[1][column["description"]] == "'=cmd|' /C calc'!A0"  # never a live formula
    assert data[5][column["quantity_kg"]] == "-1.00"  # numbers stay numbers
    assert data[3][column["bucket"]] == ""


def test_reports_answer_csv_for_accept_text_csv_and_json_otherwise(client, as_admin, history):
    by_header = client.simulate_get("/api/reports/transactions", headers={**as_admin, "Accept": "text/csv"})
    assert len(parse_csv(by_header)) == 7
    as_json = client.simulate_get(
        "/api/reports/transactions", headers=as_admin, params={"tx_type": "STOCK_RECEIPT"}
    )
    assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
    assert [t["order_number"] for t in as_json.json["items"]] == ["PO-100", "PO-200"]
    bad = client.simulate_get("/api/reports/transactions", headers=as_admin, params={"format": "pdf"})
    assert bad.status_code == 400


def test_inventory_report_lists_every_row_as_json_or_csv(client, as_admin, history):
    as_json = client.simulate_get("/api/reports/inventory", headers=as_admin)
    assert as_json.status_code == 200, as_json.text
    items = as_json.json["items"]
    assert [(i["article_no"], i["stock_qty"], i["surplus_qty"], i["total_qty"]) for i in items] == [
        (history["other"]["article_no"], 5, 0, 5),  # C-… before P-…
        (history["paint"]["article_no"], 9, 0, 9),
    ]
    rows = parse_csv(
        client.simulate_get("/api/reports/inventory", headers=as_admin, params={"format": "csv"})
    )
    assert rows[0][:4] == ["location_id", "location_code", "article_id", "article_no"]
    assert len(rows) == 3 and rows[2][rows[0].index("total_qty")] == "9.00"
    empty = client.simulate_get(
        "/api/reports/inventory", headers=as_admin, params={"location_id": 424242, "format": "csv"}
    )
    assert parse_csv(empty) == [rows[0]]
