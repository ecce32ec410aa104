"""Inventory counts, adjustments, the summary and the reconciliation over HTTP."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from .api import adjust, approve, count, create, line

pytestmark = pytest.mark.usefixtures("reconciled")


def total(stockroom, batch) -> Decimal:
    stock, surplus = stockroom.balances(batch)
    return Decimal(stock or 0) + Decimal(surplus or 0)


def ledger_rows(database_url, batch):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT tx_type, bucket, quantity_kg::text, source FROM transactions "
            "WHERE batch_id = %s AND source <> 'test' ORDER BY id",
            (batch,),
        ).fetchall()


# (stock, surplus, counted) -> result, surplus after the count, shortage drafted
COUNT_CASES = {
    "over_without_surplus": ("10", "0", "12.5", "over", "2.50", None),
    "over_with_surplus": ("10", "2", "15", "over", "5.00", None),
    "equal_without_surplus": ("10", "0", "10", "no_change", "0.00", None),
    "equal_with_surplus": ("10", "2", "12", "no_change", "2.00", None),
    "under_without_surplus": ("10", "0", "4", "under", "0.00", "6.00"),
    "under_surplus_smaller_than_deficit": ("10", "2", "5", "under", "0.00", "5.00"),
    "under_surplus_equal_to_deficit": ("10", "3", "10", "under", "0.00", None),
    "under_surplus_larger_than_deficit": ("10", "5", "12", "under", "2.00", None),
    "under_to_zero": ("10", "5", "0", "under", "0.00", "10.00"),
}


@pytest.mark.parametrize("case", list(COUNT_CASES))
def test_after_a_count_and_its_approved_shortage_the_total_equals_the_count(
    client, as_admin, stockroom, database_url, case
):
    stock, surplus, counted, result, surplus_after, shortage = COUNT_CASES[case]
    article, batch = stockroom.paint_batch(stock=stock, surplus=surplus)
    answer = count(client, as_admin, article, batch, counted, note="yearly count")
    assert answer.status_code == 200, answer.text
    body = answer.json
    assert body["result"] == result
    assert (body["previous_stock"], body["previous_surplus"]) == (float(stock), float(surplus))
    assert body["previous_total"] == float(Decimal(stock) + Decimal(surplus))
    assert body["counted_total"] == float(counted)
    assert body["delta"] == float(Decimal(counted) - Decimal(stock) - Decimal(surplus))
    assert stockroom.balances(batch) == (f"{Decimal(stock):.2f}", surplus_after)
    if shortage is None:
        assert body["shortage_group_id"] is None and body["shortage_draft_ids"] is None
        assert total(stockroom, batch) == Decimal(counted)
        return
    group = client.simulate_get(f"/api/draft-groups/{body['shortage_group_id']}", headers=as_admin).json
    assert group["source"] == "inventory_count" and group["status"] == "DRAFT"
    assert group["name"].startswith("InventoryCount_")
    assert [(d["id"], d["draft_type"], d["quantity_kg"]) for d in group["drafts"]] == [
        (body["shortage_draft_ids"][0], "INVENTORY_SHORTAGE", float(shortage))
    ]
    assert total(stockroom, batch) == Decimal(counted) + Decimal(shortage)  # until approved
    approved = approve(client, as_admin, body["shortage_group_id"])
    assert approved.status_code == 200, approved.text
    assert total(stockroom, batch) == Decimal(counted)


def test_count_over_books_the_surplus_with_its_ledger_row(client, as_admin, stockroom, database_url):
    article, batch = stockroom.paint_batch(stock="10", surplus="1")
    body = count(client, as_admin, article, batch, "13.255").json
    assert body["surplus_added"] == 2.26 and body["surplus_reset"] is None
    assert ledger_rows(database_url, batch) == [
        ("INVENTORY_ADJUSTMENT", "SURPLUS", "2.26", "inventory_count")
    ]


def test_count_under_takes_surplus_first_at_once_then_drafts_the_rest(
    client, as_admin, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="10", surplus="2")
    body = count(client, as_admin, article, batch, "5").json
    assert (body["surplus_reset"], body["shortage_qty"], body["surplus_added"]) == (2, 5, None)
    assert stockroom.balances(batch) == ("10.00", "0.00")
    assert ledger_rows(database_url, batch) == [
        ("INVENTORY_ADJUSTMENT", "SURPLUS", "-2.00", "inventory_count")
    ]
    waiting = client.simulate_get("/api/draft-groups", headers=as_admin, params={"status": "DRAFT"}).json
    assert [g["id"] for g in waiting["items"]] == [body["shortage_group_id"]]  # on the approver's list
    approve(client, as_admin, body["shortage_group_id"])
    assert ledger_rows(database_url, batch)[1:] == [
        ("INVENTORY_ADJUSTMENT", "STOCK", "-5.00", "inventory_count")
    ]


def test_a_large_shortage_is_split_into_lines_of_at_most_9999_99_in_one_group(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="25000")
    body = count(client, as_admin, article, batch, "0").json
    group = client.simulate_get(f"/api/draft-groups/{body['shortage_group_id']}", headers=as_admin).json
    assert [d["quantity_kg"] for d in group["drafts"]] == [9999.99, 9999.99, 5000.02]
    assert [d["id"] for d in group["drafts"]] == body["shortage_draft_ids"]
    approve(client, as_admin, body["shortage_group_id"])
    assert total(stockroom, batch) == 0


def test_a_shortage_needing_more_than_500_lines_is_409_and_changes_nothing(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="5000000")
    before = stockroom.snapshot()
    result = count(client, as_admin, article, batch, "0")
    assert result.status_code == 409 and result.json["error"]["code"] == "SHORTAGE_TOO_LARGE"
    assert stockroom.snapshot() == before


def test_a_repeated_count_client_event_id_answers_the_first_count_and_books_nothing(
    client, as_admin, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="10", surplus="1")
    first = count(client, as_admin, article, batch, "4", client_event_id="count-1")
    again = count(client, as_admin, article, batch, "4", client_event_id="count-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json == first.json
    assert len(ledger_rows(database_url, batch)) == 1
    other = count(client, as_admin, article, batch, "5", client_event_id="count-1")
    assert other.status_code == 409 and other.json["error"]["code"] == "DUPLICATE_EVENT_ID"
    approve(client, as_admin, first.json["shortage_group_id"])


def test_a_count_of_an_unknown_key_or_a_bad_value_is_refused_and_changes_nothing(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    before = stockroom.snapshot()
    for change, code, status in (
        ({"batch_id": 424242}, "BATCH_NOT_FOUND", 404),
        ({"article_id": 424242}, "ARTICLE_NOT_FOUND", 404),
        ({"location_id": 424242}, "LOCATION_NOT_FOUND", 404),
        ({"counted_total_qty": "-1"}, "VALIDATION_ERROR", 400),
        ({"counted_total_qty": "abc"}, "VALIDATION_ERROR", 400),
    ):
        body = {"article_id": article, "batch_id": batch, "counted_total_qty": "3", **change}
        result = client.simulate_post("/api/inventory/count", headers=as_admin, json=body)
        assert result.status_code == status and result.json["error"]["code"] == code, result.text
    assert stockroom.snapshot() == before


def test_a_count_of_a_batch_of_another_article_is_400_and_of_an_archived_article_409(
    client, as_admin, stockroom
):
    article, batch = stockroom.paint_batch(stock="10")
    other, _ = stockroom.paint_batch(stock="1")
    mismatch = count(client, as_admin, other, batch, "3")
    assert mismatch.status_code == 400 and mismatch.json["error"]["code"] == "BATCH_ARTICLE_MISMATCH"
    client.simulate_post(f"/api/articles/{article}/archive", headers=as_admin)
    archived = count(client, as_admin, article, batch, "3")
    assert archived.status_code == 409 and archived.json["error"]["code"] == "ARTICLE_ARCHIVED"


def test_adjust_sets_and_changes_stock_and_surplus_with_a_ledger_row_in_that_bucket(
    client, as_admin, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="10", surplus="1")
    set_stock = adjust(client, as_admin, article, batch, "stock", "set", "7.5")
    assert set_stock.status_code == 200, set_stock.text
    assert (set_stock.json["previous_qty"], set_stock.json["new_qty"], set_stock.json["delta"]) == (
        10,
        7.5,
        -2.5,
    )
    assert (set_stock.json["stock_qty"], set_stock.json["surplus_qty"]) == (7.5, 1)
    more_surplus = adjust(client, as_admin, article, batch, "surplus", "delta", "0.255")
    assert more_surplus.json["new_qty"] == 1.26
    unchanged = adjust(client, as_admin, article, batch, "surplus", "set", "1.26")
    assert unchanged.status_code == 200 and unchanged.json["transaction_id"] is None
    assert stockroom.balances(batch) == ("7.50", "1.26")
    assert ledger_rows(database_url, batch) == [
        ("INVENTORY_ADJUSTMENT", "STOCK", "-2.50", "adjust"),
        ("INVENTORY_ADJUSTMENT", "SURPLUS", "0.26", "adjust"),
    ]
    listed = client.simulate_get("/api/transactions", headers=as_admin, params={"batch_id": batch}).json[
        "items"
    ]
    assert listed[1]["note"] == "shelf check" and listed[1]["id"] == set_stock.json["transaction_id"]


def test_adjust_of_a_key_without_balance_rows_creates_them(client, as_admin, stockroom):
    article = stockroom.article()
    batch = stockroom.batch(article)
    result = adjust(client, as_admin, article, batch, "surplus", "delta", "3")
    assert result.status_code == 200, result.text
    assert stockroom.balances(batch) == (None, "3.00")


def test_adjust_below_zero_is_409_and_changes_nothing(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="2", surplus="1")
    before = stockroom.snapshot()
    for target, quantity in (("stock", "-2.01"), ("surplus", "-1.01")):
        result = adjust(client, as_admin, article, batch, target, "delta", quantity)
        assert result.status_code == 409
        assert result.json["error"]["code"] == "NEGATIVE_INVENTORY_NOT_ALLOWED"
    assert result.json["error"]["details"]["current_qty"] == 1
    assert stockroom.snapshot() == before


def test_bad_adjustments_are_400(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="2")
    for mode, quantity, note, field in (
        ("set", "-1", "x", "quantity_kg"),
        ("delta", "0", "x", "quantity_kg"),
        ("delta", "0.001", "x", "quantity_kg"),
        ("set", "1", "   ", "note"),
        ("set", "1", "", "note"),
    ):
        result = adjust(client, as_admin, article, batch, "stock", mode, quantity, note=note)
        assert result.status_code == 400 and field in result.json["error"]["details"]["fields"], result.text
    assert stockroom.balances(batch) == ("2.00", "0.00")


def test_summary_lists_balances_with_pending_drafts_and_hides_zero_rows(
    client, as_operator, as_admin, stockroom
):
    article, batch = stockroom.paint_batch(stock="10", surplus="2")
    _, empty_batch = stockroom.paint_batch(stock="0")
    create(client, as_operator, [line(article, batch, "1.5"), line(article, batch, "2")])
    result = client.simulate_get("/api/inventory/summary", headers=as_operator)
    assert result.status_code == 200, result.text
    assert result.json["total"] == 1
    row = result.json["items"][0]
    assert (row["batch_id"], row["stock_qty"], row["surplus_qty"], row["total_qty"], row["pending_qty"]) == (
        batch,
        10,
        2,
        12,
        3.5,
    )
    assert (
        row["location_code"] == "13" and row["is_paint"] is True and row["uom"] == "KG" and row["updated_at"]
    )
    everything = client.simulate_get(
        "/api/inventory/summary", headers=as_operator, params={"include_empty": "true"}
    )
    assert {r["batch_id"] for r in everything.json["items"]} == {batch, empty_batch}
    only = client.simulate_get(
        "/api/inventory/summary", headers=as_operator, params={"batch_id": empty_batch}
    )
    assert only.json["items"] == []


def test_summary_filters_and_pages_in_location_article_fefo_order(client, as_admin, stockroom):
    annex = stockroom.location("14")
    keys = []
    for n in range(5):
        article = stockroom.article(article_no=f"P-SUM-{n}")
        batch = stockroom.batch(article)
        stockroom.book(stockroom.location("13"), article, batch, stock="1")
        keys.append((batch, "13"))
    consumable = stockroom.article(paint=False, article_no="C-SUM")
    na = stockroom.batch(consumable, code="NA")
    stockroom.book(annex, consumable, na, stock="4")
    seen, cursor = [], None
    while True:
        page = client.simulate_get(
            "/api/inventory/summary",
            headers=as_admin,
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
        ).json
        assert page["total"] == 6
        seen += [(r["batch_id"], r["location_code"]) for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [*keys, (na, "14")]

    def batches(**params):
        return [
            r["batch_id"]
            for r in client.simulate_get("/api/inventory/summary", headers=as_admin, params=params).json[
                "items"
            ]
        ]

    assert batches(location_id=annex) == [na]
    assert batches(is_paint="false") == [na]
    assert batches(article_id=consumable) == [na]
    assert (
        client.simulate_get(
            "/api/inventory/summary", headers=as_admin, params={"is_paint": "yes"}
        ).status_code
        == 400
    )


def test_reconcile_lists_a_key_whose_balance_differs_from_its_ledger(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10", surplus="1")
    assert client.simulate_get("/api/inventory/reconcile", headers=as_admin).json["items"] == []
    with psycopg.connect(stockroom.url, autocommit=True) as conn:
        conn.execute("UPDATE stock SET quantity_kg = 9.5 WHERE batch_id = %s", (batch,))
        try:
            result = client.simulate_get("/api/inventory/reconcile", headers=as_admin)
            assert result.status_code == 200
            assert result.json["items"] == [
                {
                    "location_id": stockroom.location("13"),
                    "batch_id": batch,
                    "article_id": article,
                    "bucket": "STOCK",
                    "balance_qty": 9.5,
                    "ledger_qty": 10,
                    "difference": -0.5,
                }
            ]
            assert result.json["total"] == 1
        finally:
            conn.execute("UPDATE stock SET quantity_kg = 10 WHERE batch_id = %s", (batch,))


def test_reconcile_lists_a_draft_group_whose_pending_groups_entry_drifted(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "2")]).json["id"]
    assert client.simulate_get("/api/inventory/reconcile", headers=as_admin).json["pending_group_drift"] == []
    with psycopg.connect(stockroom.url, autocommit=True) as conn:
        conn.execute("UPDATE pending_groups SET line_count = 7 WHERE group_id = %s", (group,))
        try:
            result = client.simulate_get("/api/inventory/reconcile", headers=as_admin)
            assert result.status_code == 200
            assert result.json["pending_group_drift"] == [group]
        finally:
            conn.execute("UPDATE pending_groups SET line_count = 1 WHERE group_id = %s", (group,))
