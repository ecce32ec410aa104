"""Receiving over HTTP: new and existing batches, expiry rules, consumables on their NA batch, multi-line
receipts all or nothing, client_event_id replays, and the receipt history."""

from __future__ import annotations

import threading

import psycopg
import pytest

from .api import new_article, paint_line, receive

pytestmark = pytest.mark.usefixtures("reconciled")


def receipt_ledger(database_url):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT tx_type, bucket, quantity_kg::text, order_number, batch_id FROM transactions ORDER BY id"
        ).fetchall()


def test_receiving_a_new_batch_creates_it_with_its_expiry_and_books_stock(
    client, as_admin, stockroom, database_url
):
    article = new_article(client, as_admin)
    result = receive(client, as_admin, order=" po-4711 ", **paint_line(article["id"], quantity="12.345"))
    assert result.status_code == 201, result.text
    body = result.json
    assert body["order_number"] == "PO-4711" and body["receipt_key"].startswith("R")
    assert body["batch_created"] is True and body["batch_code"] == "12345"
    assert (body["previous_stock"], body["new_stock"], body["quantity_received"]) == (0, 12.35, 12.35)
    assert len(body["lines"]) == 1 and body["lines"][0]["batch_id"] == body["batch_id"]
    batches = client.simulate_get(f"/api/articles/{article['article_no']}/batches", headers=as_admin).json
    assert [(b["id"], b["expiry_date"]) for b in batches["items"]] == [(body["batch_id"], "2030-01-01")]
    assert stockroom.balances(body["batch_id"]) == ("12.35", None)
    assert receipt_ledger(database_url) == [("STOCK_RECEIPT", "STOCK", "12.35", "PO-4711", body["batch_id"])]


def test_receiving_an_existing_batch_adds_to_its_stock(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    first = receive(client, as_admin, **paint_line(article["id"], quantity="10")).json
    second = receive(client, as_admin, order="PO-2", **paint_line(article["id"], quantity="2.5"))
    assert second.status_code == 201, second.text
    assert second.json["batch_id"] == first["batch_id"] and second.json["batch_created"] is False
    assert (second.json["previous_stock"], second.json["new_stock"]) == (10, 12.5)
    assert stockroom.balances(first["batch_id"]) == ("12.50", None)


def test_an_existing_batch_without_expiry_gets_the_received_one(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    batch = client.simulate_post(
        "/api/batches", headers=as_admin, json={"article_id": article["id"], "batch_code": "54321"}
    ).json
    assert batch["expiry_date"] is None
    result = receive(client, as_admin, **paint_line(article["id"], code="54321", expiry="2031-03-01"))
    assert result.status_code == 201 and result.json["batch_id"] == batch["id"]
    listed = client.simulate_get(f"/api/articles/{article['article_no']}/batches", headers=as_admin).json
    assert listed["items"][0]["expiry_date"] == "2031-03-01"


def test_a_different_expiry_is_409_batch_expiry_mismatch_and_books_nothing(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    receive(client, as_admin, **paint_line(article["id"], expiry="2030-01-01"))
    before = stockroom.snapshot()
    result = receive(client, as_admin, order="PO-2", **paint_line(article["id"], expiry="2030-01-02"))
    assert result.status_code == 409
    error = result.json["error"]
    assert error["code"] == "BATCH_EXPIRY_MISMATCH"
    assert error["details"]["existing_expiry_date"] == ["2030-01-01"]
    assert stockroom.snapshot() == before


def test_a_consumable_goes_to_its_na_batch_without_code_or_expiry(client, as_admin, stockroom):
    article = new_article(client, as_admin, paint=False)
    first = receive(client, as_admin, article_id=article["id"], quantity_kg=5)
    assert first.status_code == 201, first.text
    assert first.json["batch_code"] == "NA" and first.json["batch_created"] is True
    assert first.json["expiry_date"] == "2099-12-31"
    second = receive(client, as_admin, article_id=article["id"], quantity_kg="1", batch_code="whatever")
    assert second.json["batch_id"] == first.json["batch_id"] and second.json["batch_created"] is False
    assert stockroom.balances(first.json["batch_id"]) == ("6.00", None)


def test_a_multi_line_receipt_books_every_line_once_per_key(client, as_admin, stockroom):
    paint = new_article(client, as_admin)
    consumable = new_article(client, as_admin, paint=False)
    result = receive(
        client,
        as_admin,
        lines=[
            paint_line(paint["id"], code="12345", quantity="4"),
            {"article_id": consumable["id"], "quantity_kg": "3", "note": "boxes"},
            paint_line(paint["id"], code="12345", quantity="1"),
            paint_line(paint["id"], code="123456789", quantity="2", expiry="2032-01-01"),
        ],
    )
    assert result.status_code == 201, result.text
    body = result.json
    assert body["line_count"] == 4 and body["total_quantity"] == 10
    assert "batch_id" not in body  # only a single-line request carries a line's fields at the top
    lines = body["lines"]
    assert [(line["previous_stock"], line["new_stock"]) for line in lines] == [(0, 4), (0, 3), (4, 5), (0, 2)]
    assert [line["batch_created"] for line in lines] == [True, True, True, True]
    assert lines[0]["batch_id"] == lines[2]["batch_id"]
    assert stockroom.balances(lines[0]["batch_id"]) == ("5.00", None)
    assert stockroom.balances(lines[3]["batch_id"]) == ("2.00", None)


def test_a_multi_line_receipt_with_one_bad_line_books_nothing(client, as_admin, stockroom):
    paint = new_article(client, as_admin)
    existing = receive(client, as_admin, **paint_line(paint["id"], code="11111")).json
    before = stockroom.snapshot()
    with psycopg.connect(stockroom.url) as conn:
        batches_before = conn.execute("SELECT count(*) FROM batches").fetchone()[0]
    result = receive(
        client,
        as_admin,
        order="PO-2",
        lines=[
            paint_line(paint["id"], code="22222", quantity="4"),
            paint_line(paint["id"], code="11111", quantity="1"),
            paint_line(paint["id"], code="1234567", quantity="2"),
        ],
    )
    assert result.status_code == 400
    error = result.json["error"]
    assert error["code"] == "INVALID_BATCH_FORMAT"
    rule = "Paint batch codes are 4-5 or 9-12 digits (0-9), nothing else."
    assert error["details"]["fields"] == {"lines[2].batch_code": rule}
    assert error["message"] == rule.rstrip(".") + " (lines[2].batch_code)."
    assert error["details"]["line"] == [2] and error["details"]["batch_code"] == ["1234567"]
    assert stockroom.snapshot() == before
    with psycopg.connect(stockroom.url) as conn:
        assert conn.execute("SELECT count(*) FROM batches").fetchone()[0] == batches_before
    assert stockroom.balances(existing["batch_id"]) == ("10.00", None)
    assert client.simulate_get("/api/inventory/receipts", headers=as_admin).json["total"] == 1


def test_two_lines_of_one_new_batch_with_different_expiries_are_409(client, as_admin, stockroom):
    paint = new_article(client, as_admin)
    before = stockroom.snapshot()
    result = receive(
        client,
        as_admin,
        lines=[paint_line(paint["id"], expiry="2030-01-01"), paint_line(paint["id"], expiry="2030-02-01")],
    )
    assert result.status_code == 409 and result.json["error"]["code"] == "BATCH_EXPIRY_MISMATCH"
    assert stockroom.snapshot() == before


BAD_LINES = [
    ({"batch_code": None}, "BATCH_REQUIRED", 400),
    ({"expiry_date": None}, "EXPIRY_REQUIRED", 400),
    ({"batch_code": "12345\n"}, "INVALID_BATCH_FORMAT", 400),
    ({"batch_code": "١٢٣٤٥"}, "INVALID_BATCH_FORMAT", 400),
    ({"batch_code": "NA"}, "INVALID_BATCH_FORMAT", 400),
    ({"article_id": 424242}, "ARTICLE_NOT_FOUND", 404),
    ({"quantity_kg": "0.004"}, "VALIDATION_ERROR", 400),
    ({"quantity_kg": "999999.995"}, "VALIDATION_ERROR", 400),
    ({"quantity_kg": "1e400"}, "VALIDATION_ERROR", 400),
    ({"quantity_kg": True}, "VALIDATION_ERROR", 400),
    ({"expiry_date": "2030-13-01"}, "VALIDATION_ERROR", 400),
    ({"expiry_date": "\uff12\uff10\uff13\uff10-01-01"}, "VALIDATION_ERROR", 400),
]


def test_bad_receipt_lines_are_refused_and_book_nothing(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    before = stockroom.snapshot()
    for line, code, status in BAD_LINES:
        result = receive(client, as_admin, **{**paint_line(article["id"]), **line})
        assert result.status_code == status, (line, result.text)
        assert result.json["error"]["code"] == code, line
    assert stockroom.snapshot() == before


BAD_HEADERS = [
    ({"order_number": "   "}, "order_number"),
    ({"order_number": "X" * 51}, "order_number"),
    ({"order_number": "PO\u00071"}, "order_number"),
    ({"lines": []}, "lines"),
    ({"quantity_kg": None}, "quantity_kg"),
]


def test_bad_receipt_headers_are_400(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    for body, field in BAD_HEADERS:
        result = receive(client, as_admin, **{**paint_line(article["id"]), **body})
        assert result.status_code == 400 and field in result.json["error"]["details"]["fields"], result.text


def test_one_line_and_lines_together_are_400_and_neither_is_400(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    both = receive(client, as_admin, lines=[paint_line(article["id"])], article_id=article["id"])
    assert both.status_code == 400 and "article_id" in both.json["error"]["details"]["fields"]
    neither = receive(client, as_admin)
    assert neither.status_code == 400
    assert set(neither.json["error"]["details"]["fields"]) == {"article_id", "quantity_kg"}


def test_an_archived_article_or_inactive_batch_takes_no_receipt(client, as_admin, stockroom):
    archived = new_article(client, as_admin)
    client.simulate_post(f"/api/articles/{archived['id']}/archive", headers=as_admin)
    result = receive(client, as_admin, **paint_line(archived["id"]))
    assert result.status_code == 409 and result.json["error"]["code"] == "ARTICLE_ARCHIVED"
    article = new_article(client, as_admin)
    batch = receive(client, as_admin, **paint_line(article["id"])).json["batch_id"]
    client.simulate_patch(f"/api/batches/{batch}", headers=as_admin, json={"is_active": False})
    result = receive(client, as_admin, **paint_line(article["id"]))
    assert result.status_code == 409 and result.json["error"]["code"] == "BATCH_INACTIVE"


def test_receiving_goes_to_the_default_location_unless_one_is_named(client, as_admin, stockroom):
    annex = stockroom.location("14")
    article = new_article(client, as_admin)
    default = receive(client, as_admin, **paint_line(article["id"], quantity="1")).json
    named = receive(client, as_admin, location_id=annex, **paint_line(article["id"], quantity="2")).json
    assert named["location_id"] == annex and default["location_id"] != annex
    assert stockroom.balances(named["batch_id"], location="14") == ("2.00", None)
    missing = receive(client, as_admin, location_id=424242, **paint_line(article["id"]))
    assert missing.status_code == 404 and missing.json["error"]["code"] == "LOCATION_NOT_FOUND"


def test_a_replayed_client_event_id_books_once_and_answers_the_first_receipt(
    client, as_admin, stockroom, database_url
):
    article = new_article(client, as_admin)
    body = {"client_event_id": "scan-0001", **paint_line(article["id"], quantity="7")}
    first = receive(client, as_admin, **body)
    again = receive(client, as_admin, **body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert stockroom.balances(first.json["batch_id"]) == ("7.00", None)
    assert len(receipt_ledger(database_url)) == 1
    other = receive(client, as_admin, **{**body, "quantity_kg": "8"})
    assert other.status_code == 409 and other.json["error"]["code"] == "DUPLICATE_EVENT_ID"
    assert len(receipt_ledger(database_url)) == 1


def test_concurrent_repeats_of_one_client_event_id_book_once(client, as_admin, stockroom, database_url):
    article = new_article(client, as_admin)
    body = {"client_event_id": "burst-1", "lines": [paint_line(article["id"], quantity="3")]}
    start = threading.Barrier(6)
    answers = []

    def send():
        start.wait()
        answers.append(receive(client, as_admin, **body))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json["receipt_key"] for a in answers}) == 1
    assert len(receipt_ledger(database_url)) == 1
    assert stockroom.balances(answers[0].json["lines"][0]["batch_id"]) == ("3.00", None)


def test_receipt_history_groups_lines_per_receipt_newest_first(client, as_admin, stockroom):
    paint = new_article(client, as_admin, description="Clear coat")
    consumable = new_article(client, as_admin, paint=False)
    first = receive(client, as_admin, order="po-1", **paint_line(paint["id"], quantity="4")).json
    second = receive(
        client,
        as_admin,
        order="PO-2",
        lines=[paint_line(paint["id"], quantity="1"), {"article_id": consumable["id"], "quantity_kg": "2.5"}],
    ).json
    result = client.simulate_get("/api/inventory/receipts", headers=as_admin)
    assert result.status_code == 200, result.text
    items = result.json["history"]
    assert result.json["total"] == 2
    assert [r["receipt_key"] for r in items] == [second["receipt_key"], first["receipt_key"]]
    newest = items[0]
    assert (newest["order_number"], newest["line_count"], newest["total_quantity"]) == ("PO-2", 2, 3.5)
    assert newest["user_name"] == "admin" and newest["received_at"]
    assert [
        (line["article_no"], line["description"], line["batch_code"], line["quantity_kg"], line["user_name"])
        for line in newest["lines"]
    ] == [
        (paint["article_no"], "Clear coat", "12345", 1, "admin"),
        (consumable["article_no"], "", "NA", 2.5, "admin"),
    ]


def test_receipt_history_pages_and_filters_by_order_number_and_received_dates(client, as_admin, stockroom):
    article = new_article(client, as_admin)
    for n, day in enumerate(("2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04")):
        receive(
            client,
            as_admin,
            order=f"PO-{n % 2}",
            received_date=day,
            **paint_line(article["id"], quantity="1"),
        )

    def keys(**params):
        result = client.simulate_get("/api/inventory/receipts", headers=as_admin, params=params)
        assert result.status_code == 200, result.text
        return [(r["order_number"], r["received_date"]) for r in result.json["history"]], result.json

    assert keys(order_number=" po-1 ")[0] == [("PO-1", "2024-03-04"), ("PO-1", "2024-03-02")]
    assert keys(**{"from": "2024-03-02", "to": "2024-03-03"})[0] == [
        ("PO-0", "2024-03-03"),
        ("PO-1", "2024-03-02"),
    ]
    page, body = keys(limit=3)
    assert len(page) == 3 and body["total"] == 4
    rest, body = keys(limit=3, cursor=body["next_cursor"])
    assert rest == [("PO-0", "2024-03-01")] and body["next_cursor"] is None
    bad = client.simulate_get("/api/inventory/receipts", headers=as_admin, params={"from": "03/01/2024"})
    assert bad.status_code == 400 and "from" in bad.json["error"]["details"]["fields"]
