"""Low stock, expiring batches and the inventory as of a moment (SPEC §10), over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from .api import adjust, approve, count, create, line, new_article, paint_line, parse_csv, receive, transfer

pytestmark = pytest.mark.usefixtures("reconciled", "stockroom")


def rows(client, headers, path, **params) -> list[dict]:
    result = client.simulate_get(path, headers=headers, params=params)
    assert result.status_code == 200, result.text
    return result.json["items"]


def received(client, headers, article_id, quantity, code="12345", expiry="2030-01-01", **body) -> dict:
    result = receive(client, headers, lines=[paint_line(article_id, code, quantity, expiry)], **body)
    assert result.status_code == 201, result.text
    return result.json["lines"][0]


# --- low stock ------------------------------------------------------------------------------------


def test_low_stock_lists_articles_at_or_below_threshold_after_pending_drafts_largest_shortfall_first(
    client, as_admin, as_operator
):
    short = new_article(client, as_admin, reorder_threshold="50")
    fine = new_article(client, as_admin, reorder_threshold="10")
    tight = new_article(client, as_admin, reorder_threshold="20")
    unwatched = new_article(client, as_admin)
    batch = received(client, as_admin, short["id"], "40")["batch_id"]
    received(client, as_admin, fine["id"], "100")
    tight_batch = received(client, as_admin, tight["id"], "30")["batch_id"]
    received(client, as_admin, unwatched["id"], "1")
    assert create(client, as_admin, [line(short["id"], batch, "5")]).status_code == 201
    assert create(client, as_operator, [line(tight["id"], tight_batch, "12")]).status_code == 201

    items = rows(client, as_operator, "/api/inventory/low-stock")

    assert [
        (i["article_no"], i["on_hand_kg"], i["pending_kg"], i["available_kg"], i["shortfall_kg"])
        for i in items
    ] == [
        (short["article_no"], 40, 5, 35, 15),
        (tight["article_no"], 30, 12, 18, 2),
    ]
    assert items[0]["reorder_threshold"] == 50 and items[0]["uom"] == "KG"


def test_low_stock_sums_all_locations_unless_one_is_named_and_leaves_archived_articles_out(
    client, as_admin, stockroom
):
    other = stockroom.location("14")
    article = new_article(client, as_admin, reorder_threshold="50")
    archived = new_article(client, as_admin, reorder_threshold="100")
    received(client, as_admin, article["id"], "40")
    received(client, as_admin, article["id"], "40", location_id=other)
    assert (
        client.simulate_post(f"/api/articles/{archived['id']}/archive", headers=as_admin).status_code == 200
    )

    assert rows(client, as_admin, "/api/inventory/low-stock") == []
    at_13 = rows(client, as_admin, "/api/inventory/low-stock", location_id=stockroom.location("13"))
    assert [(i["article_id"], i["on_hand_kg"], i["shortfall_kg"]) for i in at_13] == [(article["id"], 40, 10)]


def test_low_stock_is_also_a_csv_export(client, as_operator, as_admin):
    article = new_article(client, as_admin, reorder_threshold="5")
    table = parse_csv(client.simulate_get("/api/inventory/low-stock?format=csv", headers=as_operator))
    assert table[0][:2] == ["article_id", "article_no"]
    assert table[1][:2] == [str(article["id"]), article["article_no"]]


# --- expiring -------------------------------------------------------------------------------------


def test_expiring_lists_positive_balances_expiring_within_the_window_earliest_first_expired_included(
    client, as_admin, as_operator
):
    today = datetime.now(UTC).date()
    article = new_article(client, as_admin)
    consumable = new_article(client, as_admin, paint=False)
    expired = received(client, as_admin, article["id"], "10", "11111", str(today - timedelta(days=5)))
    soon = received(client, as_admin, article["id"], "5", "22222", str(today + timedelta(days=10)))
    later = received(client, as_admin, article["id"], "5", "33333", str(today + timedelta(days=40)))
    empty = received(client, as_admin, article["id"], "3", "44444", str(today + timedelta(days=3)))
    adjust(client, as_admin, article["id"], empty["batch_id"], "stock", "set", "0")
    receive(client, as_admin, lines=[{"article_id": consumable["id"], "quantity_kg": "7"}])

    items = rows(client, as_operator, "/api/inventory/expiring")
    assert [(i["batch_code"], i["days_left"], i["total_qty"]) for i in items] == [
        ("11111", -5, 10),
        ("22222", 10, 5),
    ]
    assert items[0]["expiry_date"] == str(today - timedelta(days=5)) and items[0]["stock_qty"] == 10
    wider = rows(client, as_operator, "/api/inventory/expiring", within_days="60")
    assert [i["batch_id"] for i in wider] == [expired["batch_id"], soon["batch_id"], later["batch_id"]]
    assert rows(client, as_operator, "/api/inventory/expiring", within_days="0")[0]["batch_code"] == "11111"
    assert rows(client, as_operator, "/api/inventory/expiring", within_days="3650", location_id="999") == []


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "3651", "", "+3", "\uff11"])
def test_expiring_refuses_a_bad_within_days_with_400(client, as_operator, bad):
    result = client.simulate_get("/api/inventory/expiring", headers=as_operator, params={"within_days": bad})
    assert result.status_code == 400
    assert result.json["error"]["code"] == "VALIDATION_ERROR"
    assert "within_days" in result.json["error"]["details"]["fields"]


# --- the inventory as of a moment -----------------------------------------------------------------


def _instant(database_url) -> datetime:
    """A moment strictly between the ledger rows before and after it."""
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT clock_timestamp()").fetchone()[0]


def _ledger_sums(database_url, as_of) -> dict:
    with psycopg.connect(database_url) as conn:
        found = conn.execute(
            "SELECT location_id, batch_id, sum(quantity_kg) FILTER (WHERE bucket = 'STOCK'), "
            "sum(quantity_kg) FILTER (WHERE bucket = 'SURPLUS') FROM transactions "
            "WHERE occurred_at <= %s AND bucket IS NOT NULL GROUP BY 1, 2",
            (as_of,),
        ).fetchall()
    return {(loc, batch): (float(s or 0), float(p or 0)) for loc, batch, s, p in found if (s or 0) + (p or 0)}


def _as_of(client, headers, moment: datetime) -> tuple[dict, str]:
    result = client.simulate_get(
        "/api/reports/inventory", headers=headers, params={"as_of": moment.isoformat()}
    )
    assert result.status_code == 200, result.text
    items = result.json["items"]
    assert all(i["pending_qty"] is None and i["updated_at"] is None for i in items)
    return {
        (i["location_id"], i["batch_id"]): (i["stock_qty"], i["surplus_qty"]) for i in items
    }, result.headers["x-as-of"]


def test_inventory_as_of_reproduces_each_moments_balances_through_receipts_approvals_counts_and_transfers(
    client, as_admin, database_url, stockroom
):
    article = new_article(client, as_admin)
    moments = [_instant(database_url)]
    batch = received(client, as_admin, article["id"], "100")["batch_id"]
    moments.append(_instant(database_url))
    group = create(client, as_admin, [line(article["id"], batch, "30")]).json["id"]
    assert approve(client, as_admin, group).status_code == 200
    moments.append(_instant(database_url))
    assert count(client, as_admin, article["id"], batch, "75").status_code == 200  # over: surplus 5
    moments.append(_instant(database_url))
    assert adjust(client, as_admin, article["id"], batch, "stock", "delta", "-20").status_code == 200
    moments.append(_instant(database_url))
    assert approve(client, as_admin, create(client, as_admin, [line(article["id"], batch, "8")]).json["id"])
    moments.append(_instant(database_url))
    location, shop = next(iter(_ledger_sums(database_url, moments[-1])))[0], stockroom.location("14")
    moved = [{"article_id": article["id"], "batch_id": batch, "quantity_kg": "12"}]
    assert transfer(client, as_admin, location, shop, moved).status_code == 201
    moments.append(_instant(database_url))

    expected = [
        {},
        {(location, batch): (100, 0)},
        {(location, batch): (70, 0)},
        {(location, batch): (70, 5)},
        {(location, batch): (50, 5)},
        {(location, batch): (47, 0)},
        {(location, batch): (35, 0), (shop, batch): (12, 0)},
    ]
    for moment, balances in zip(moments, expected, strict=True):
        found, _ = _as_of(client, as_admin, moment)
        assert found == balances == _ledger_sums(database_url, moment)


def test_inventory_as_of_a_date_means_its_end_and_a_future_instant_is_clamped_to_now(
    client, as_admin, stockroom
):
    _, batch = stockroom.paint_batch(stock="12")
    key = (stockroom.location("13"), batch)
    yesterday = str(datetime.now(UTC).date() - timedelta(days=1))
    before = client.simulate_get("/api/reports/inventory", headers=as_admin, params={"as_of": yesterday})
    assert before.json["items"] == []
    assert before.headers["x-as-of"] == f"{yesterday}T23:59:59.999999Z"
    asked = datetime.now(UTC)
    found, header = _as_of(client, as_admin, asked + timedelta(days=400))
    assert found == {key: (12, 0)}
    assert asked <= datetime.fromisoformat(header.replace("Z", "+00:00")) <= datetime.now(UTC)
    today = datetime.now(UTC).date()
    table = parse_csv(
        client.simulate_get(
            "/api/reports/inventory", headers=as_admin, params={"as_of": str(today), "format": "csv"}
        )
    )
    assert len(table) == 2 and table[1][table[0].index("stock_qty")] == "12.00"
    assert table[1][table[0].index("pending_qty")] == ""


@pytest.mark.parametrize("bad", ["yesterday", "2026-13-01", "\uff11"])
def test_inventory_as_of_refuses_a_bad_moment_with_400(client, as_admin, bad):
    result = client.simulate_get("/api/reports/inventory", headers=as_admin, params={"as_of": bad})
    assert result.status_code == 400
    assert "as_of" in result.json["error"]["details"]["fields"]
