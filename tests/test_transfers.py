"""POST /api/inventory/transfer (SPEC §10): stock or surplus moves between locations, every line or none,
the source never below zero, TRANSFER_OUT / TRANSFER_IN ledger rows sharing one transfer id."""

from __future__ import annotations

import psycopg
import pytest

from .api import transfer

pytestmark = pytest.mark.usefixtures("reconciled")


def item(article, batch, quantity, **extra) -> dict:
    """A transfer line."""
    return {"article_id": article, "batch_id": batch, "quantity_kg": quantity, **extra}


def ledger(url, transfer_id):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT tx_type, bucket, quantity_kg::text, location_id, batch_id FROM transactions "
            "WHERE transfer_id = %s ORDER BY id",
            (transfer_id,),
        ).fetchall()


@pytest.fixture
def sites(stockroom):
    return stockroom.location("13"), stockroom.location("14")


def test_a_transfer_moves_stock_and_writes_out_and_in_rows_sharing_the_transfer_id(
    client, as_admin, stockroom, sites, database_url
):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10")
    result = transfer(
        client,
        as_admin,
        source,
        destination,
        [item(article, batch, "4.005")],
        note="to shop 14",
    )
    assert result.status_code == 201, result.text
    body = result.json
    assert body["lines"] == [
        {
            "line": 0,
            "article_id": article,
            "article_no": body["lines"][0]["article_no"],
            "batch_id": batch,
            "batch_code": body["lines"][0]["batch_code"],
            "bucket": "stock",
            "quantity_kg": 4.01,
        }
    ]
    assert (body["from_location_id"], body["to_location_id"], body["note"]) == (
        source,
        destination,
        "to shop 14",
    )
    assert stockroom.balances(batch, "13") == ("5.99", "0.00")
    assert stockroom.balances(batch, "14") == ("4.01", None)
    assert ledger(database_url, body["id"]) == [
        ("TRANSFER_OUT", "STOCK", "-4.01", source, batch),
        ("TRANSFER_IN", "STOCK", "4.01", destination, batch),
    ]


def test_a_transfer_of_surplus_moves_surplus_and_leaves_stock(client, as_admin, stockroom, sites):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10", surplus="3")
    line = item(article, batch, 2, bucket="surplus")
    result = transfer(client, as_admin, source, destination, [line])
    assert result.status_code == 201, result.text
    assert result.json["lines"][0]["bucket"] == "surplus"
    assert stockroom.balances(batch, "13") == ("10.00", "1.00")
    assert stockroom.balances(batch, "14") == (None, "2.00")


def test_a_short_transfer_changes_nothing_and_lists_every_short_line(client, as_admin, stockroom, sites):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="5", surplus="1")
    other_article, other_batch = stockroom.paint_batch(stock="1")
    fine_article, fine_batch = stockroom.paint_batch(stock="9")
    before = stockroom.snapshot()
    lines = [
        item(article, batch, 4),  # fits
        item(fine_article, fine_batch, 9),  # fits
        item(article, batch, 3),  # 2 short after line 0
        item(other_article, other_batch, 1.5, bucket="surplus"),
    ]
    result = transfer(client, as_admin, source, destination, lines)
    assert result.status_code == 409, result.text
    error = result.json["error"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    assert error["details"]["line"] == [2, 3]
    assert error["details"]["bucket"] == ["stock", "surplus"]
    assert error["details"]["batch_id"] == [batch, other_batch]
    assert error["details"]["required_kg"] == [3, 1.5]
    assert error["details"]["shortage_kg"] == [2, 1.5]
    assert error["details"]["available_stock_kg"] == [5, 1]
    assert error["details"]["available_surplus_kg"] == [1, 0]
    assert "2 lines" in error["message"]
    assert stockroom.snapshot() == before


def test_lines_of_one_batch_are_served_in_order_and_may_empty_the_source(client, as_admin, stockroom, sites):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="5")
    lines = [item(article, batch, q) for q in ("2", "3")]
    result = transfer(client, as_admin, source, destination, lines)
    assert result.status_code == 201, result.text
    assert [line["quantity_kg"] for line in result.json["lines"]] == [2, 3]
    assert stockroom.balances(batch, "13") == ("0.00", "0.00")
    assert stockroom.balances(batch, "14") == ("5.00", None)


def test_a_consumable_without_a_batch_moves_its_na_batch(client, as_admin, stockroom, sites):
    source, destination = sites
    article = stockroom.article(paint=False)
    na = stockroom.batch(article, "NA")
    stockroom.book(source, article, na, stock="8")
    result = transfer(client, as_admin, source, destination, [{"article_id": article, "quantity_kg": 3}])
    assert result.status_code == 201, result.text
    assert result.json["lines"][0]["batch_id"] == na
    assert stockroom.balances(na, "14") == ("3.00", None)


def test_a_repeated_client_event_id_answers_the_first_transfer_and_moves_nothing(
    client, as_admin, stockroom, sites
):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10")
    lines = [item(article, batch, 4)]
    first = transfer(client, as_admin, source, destination, lines, client_event_id="move-1")
    again = transfer(client, as_admin, source, destination, lines, client_event_id="move-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert stockroom.balances(batch, "13") == ("6.00", "0.00")
    other = transfer(
        client, as_admin, source, destination, [{**lines[0], "quantity_kg": 5}], client_event_id="move-1"
    )
    assert other.status_code == 409
    assert other.json["error"]["code"] == "DUPLICATE_EVENT_ID"


def test_an_idempotency_key_replays_the_kept_answer(client, as_admin, stockroom, sites):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10")
    headers = {**as_admin, "Idempotency-Key": "transfer-key-1"}
    lines = [item(article, batch, 1)]
    first = transfer(client, headers, source, destination, lines)
    again = transfer(client, headers, source, destination, lines)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json == first.json
    assert stockroom.balances(batch, "13") == ("9.00", "0.00")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"to_location_id": "same"}, 400, "VALIDATION_ERROR"),
        ({"to_location_id": 999999}, 404, "LOCATION_NOT_FOUND"),
        ({"from_location_id": 999999}, 404, "LOCATION_NOT_FOUND"),
        ({"article_id": 999999}, 404, "ARTICLE_NOT_FOUND"),
        ({"batch_id": 999999}, 404, "BATCH_NOT_FOUND"),
        ({"batch_id": None}, 400, "BATCH_REQUIRED"),
        ({"batch_id": "other"}, 400, "BATCH_ARTICLE_MISMATCH"),
        ({"quantity_kg": 0}, 400, "VALIDATION_ERROR"),
        ({"quantity_kg": "-1"}, 400, "VALIDATION_ERROR"),
        ({"quantity_kg": "1e2"}, 400, "VALIDATION_ERROR"),
        ({"bucket": "STOCK"}, 400, "VALIDATION_ERROR"),
        ({"lines": []}, 400, "VALIDATION_ERROR"),
        ({"extra": 1}, 400, "VALIDATION_ERROR"),
    ],
)
def test_bad_transfers_are_refused_with_their_code_and_change_nothing(
    client, as_admin, stockroom, sites, change, status, code
):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10")
    _, other_batch = stockroom.paint_batch(stock="10")
    line = item(article, batch, 1)
    body = {"from_location_id": source, "to_location_id": destination}
    for field, value in change.items():
        value = {"same": source, "other": other_batch}.get(value, value) if isinstance(value, str) else value
        if field in ("article_id", "batch_id", "quantity_kg", "bucket"):
            line = {k: v for k, v in {**line, field: value}.items() if v is not None}
        else:
            body[field] = value
    body.setdefault("lines", [line])
    before = stockroom.snapshot()
    result = client.simulate_post("/api/inventory/transfer", headers=as_admin, json=body)
    assert result.status_code == status, result.text
    assert result.json["error"]["code"] == code
    assert stockroom.snapshot() == before


def test_an_operator_may_not_transfer(client, as_operator, stockroom, sites):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10")
    result = transfer(
        client,
        as_operator,
        source,
        destination,
        [item(article, batch, 1)],
    )
    assert result.status_code == 403


def test_the_ledger_lists_and_filters_transfer_rows(client, as_admin, stockroom, sites):
    source, destination = sites
    article, batch = stockroom.paint_batch(stock="10")
    transfer(client, as_admin, source, destination, [item(article, batch, 1)])
    result = client.simulate_get("/api/transactions", headers=as_admin, params={"tx_type": "TRANSFER_IN"})
    assert result.status_code == 200, result.text
    assert [(row["tx_type"], row["location_id"]) for row in result.json["items"]] == [
        ("TRANSFER_IN", destination)
    ]
