"""The consumption report (SPEC §10): per period and article, what approved weigh-ins consumed, the same
whether the days come from the rollup (consumption_days), from the ledger, or from both."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest

from service.janitor import Janitor

from .api import approve, count, create, line, new_article, paint_line, parse_csv, receive

pytestmark = pytest.mark.usefixtures("reconciled", "stockroom")
TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
# when each approved group's ledger rows are booked (None: now, as approved)
WHEN = [
    TODAY - timedelta(days=40, hours=-10),
    TODAY - timedelta(days=35, minutes=30),
    TODAY - timedelta(days=20),
    TODAY - timedelta(days=20, hours=-12),
    TODAY - timedelta(days=3, hours=-5),
    TODAY - timedelta(microseconds=1),
    None,
]


def _book_at(database_url, group_id: int, moment: datetime) -> None:
    """Moves a group's ledger rows to `moment`: test-only time travel past the append-only trigger."""
    with psycopg.connect(database_url) as conn:
        conn.execute("ALTER TABLE transactions DISABLE TRIGGER transactions_append_only")
        conn.execute("UPDATE transactions SET occurred_at = %s WHERE draft_group_id = %s", (moment, group_id))
        conn.execute("ALTER TABLE transactions ENABLE TRIGGER transactions_append_only")


@pytest.fixture
def history(client, as_admin, stockroom, database_url):
    """Approved weigh-ins spread over 40 days at two locations, with paint and a consumable; plus what
    must not count: a DRAFT group, a rejected one and an approved inventory shortage. Returns each
    approved weigh-in line as (moment, location_id, article_id, is_paint, from_surplus, from_stock)."""
    other = stockroom.location("14")
    paint, consumable = new_article(client, as_admin), new_article(client, as_admin, paint=False)
    batch = receive(client, as_admin, lines=[paint_line(paint["id"], quantity="1000")]).json["lines"][0][
        "batch_id"
    ]
    receive(client, as_admin, "PO-2", location_id=other, lines=[paint_line(paint["id"], quantity="1000")])
    na = receive(client, as_admin, "PO-3", article_id=consumable["id"], quantity_kg="1000").json["batch_id"]
    assert count(client, as_admin, paint["id"], batch, "1004").status_code == 200  # 4 kg surplus, taken first
    plans = [
        [line(paint["id"], batch, "3")],
        [line(paint["id"], batch, "7.25", location_id=other)],
        [line(consumable["id"], na, "2")],
        [line(paint["id"], batch, "1.5"), line(consumable["id"], na, "0.75")],
        [line(paint["id"], batch, "10")],
        [line(paint["id"], batch, "4")],
        [line(paint["id"], batch, "6")],
    ]
    lines = []
    for moment, plan in zip(WHEN, plans, strict=True):
        where = {"location_id": plan[0].pop("location_id")} if "location_id" in plan[0] else {}
        group = create(client, as_admin, plan, **where).json
        answer = approve(client, as_admin, group["id"])
        assert answer.status_code == 200, answer.text
        if moment is not None:
            _book_at(database_url, group["id"], moment)
        for d in answer.json["drafts"]:
            is_paint = d["article_id"] == paint["id"]
            at = moment or datetime.now(UTC)
            lines.append(
                (
                    at,
                    d["location_id"],
                    d["article_id"],
                    is_paint,
                    d["consumed_surplus_kg"],
                    d["consumed_stock_kg"],
                )
            )
    create(client, as_admin, [line(paint["id"], batch, "100")])  # stays DRAFT
    rejected = create(client, as_admin, [line(paint["id"], batch, "50")]).json["id"]
    client.simulate_post(f"/api/draft-groups/{rejected}/reject", headers=as_admin)
    shortage = count(client, as_admin, paint["id"], batch, "900").json["shortage_group_id"]
    assert approve(client, as_admin, shortage).status_code == 200
    _set_rollup(database_url, None)  # back-dated rows are behind the template's watermark: start over
    return lines


def _period(moment: datetime, group_by: str) -> date:
    day = moment.astimezone(UTC).date()
    return {"day": day, "week": day - timedelta(days=day.weekday()), "month": day.replace(day=1)}[group_by]


def expected(lines, group_by, since, before=None, location_id=None, is_paint=None) -> dict:
    totals = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for at, location, article, paint, surplus, stock in lines:
        if at < since or (before and at >= before) or location_id not in (None, location):
            continue
        if is_paint is not None and paint != is_paint:
            continue
        total = totals[(str(_period(at, group_by)), article)]
        total[0] += Decimal(str(surplus))
        total[1] += Decimal(str(stock))
        total[2] += 1
    return {key: (float(s), float(k), float(s + k), n) for key, (s, k, n) in sorted(totals.items())}


def report(client, headers, **params) -> dict:
    result = client.simulate_get("/api/reports/consumption", headers=headers, params=params)
    assert result.status_code == 200, result.text
    return {
        (r["period"], r["article_id"]): (
            r["from_surplus_kg"],
            r["from_stock_kg"],
            r["consumed_kg"],
            r["weighins"],
        )
        for r in result.json["items"]
    }


def _set_rollup(database_url, closed_before: date | None) -> int:
    """The rollup as if it had closed the days before `closed_before` (None: none); returns its rows."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE consumption_days, consumption_months")
        conn.execute("UPDATE consumption_rollup SET closed_before = '-infinity'")
    if closed_before is None:
        return 0
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "SELECT roll_up_consumption(now() - %s::date::timestamp AT TIME ZONE 'UTC')", (closed_before,)
        )
        days, months = conn.execute(
            "SELECT (SELECT count(*) FROM consumption_days), (SELECT count(*) FROM consumption_months)"
        ).fetchone()
        assert months > 0 or closed_before < TODAY.date()  # the history always covers last month
        return days


ASKS = [
    ({"from": str((TODAY - timedelta(days=45)).date())}, TODAY - timedelta(days=45), None, {}),
    (
        {
            "from": (TODAY - timedelta(days=35, hours=1)).isoformat(),
            "to": str((TODAY - timedelta(days=3)).date()),
        },
        TODAY - timedelta(days=35, hours=1),
        TODAY - timedelta(days=2),
        {},
    ),
    (
        {"from": str((TODAY - timedelta(days=45)).date()), "location_id": "LOC14"},
        TODAY - timedelta(days=45),
        None,
        {},
    ),
    (
        {"from": str((TODAY - timedelta(days=45)).date()), "is_paint": "false"},
        TODAY - timedelta(days=45),
        None,
        {"is_paint": False},
    ),
]


@pytest.mark.parametrize("rollup", ["empty", "filled", "half"])
@pytest.mark.parametrize("group_by", ["day", "week", "month"])
def test_the_report_equals_the_approved_lines_consumption_whatever_the_rollup_holds(
    client, as_admin, history, database_url, stockroom, rollup, group_by
):
    closed = {"empty": None, "filled": TODAY.date(), "half": (TODAY - timedelta(days=20)).date()}[rollup]
    rows = _set_rollup(database_url, closed)
    assert (rows > 0) == (closed is not None)
    for params, since, before, more in ASKS:
        params = {**params, "group_by": group_by}
        if params.get("location_id") == "LOC14":
            params["location_id"] = str(stockroom.location("14"))
            more = {"location_id": stockroom.location("14")}
        want = expected(history, group_by, since, before, **more)
        assert want, params
        assert report(client, as_admin, **params) == want, params


def test_the_janitor_rolls_closed_days_up_once_and_the_report_stays_the_same(
    client, as_admin, history, database_url, db
):
    _set_rollup(database_url, None)
    ask = {"from": str((TODAY - timedelta(days=45)).date()), "group_by": "week"}
    before = report(client, as_admin, **ask)
    first = Janitor(db).roll_up_consumption()
    again = Janitor(db).roll_up_consumption()
    assert first["added_rows"] > 0 and again["added_rows"] == 0
    assert first["watermark"] == again["watermark"] >= (TODAY - timedelta(days=1)).date()
    assert report(client, as_admin, **ask) == before == expected(history, "week", TODAY - timedelta(days=45))


def test_the_report_is_also_a_csv_export(client, as_admin, history):
    table = parse_csv(
        client.simulate_get(
            "/api/reports/consumption",
            headers=as_admin,
            params={"from": str((TODAY - timedelta(days=45)).date()), "group_by": "month", "format": "csv"},
        )
    )
    assert table[0] == [
        "period",
        "article_id",
        "article_no",
        "description",
        "uom",
        "is_paint",
        "from_surplus_kg",
        "from_stock_kg",
        "consumed_kg",
        "weighins",
    ]
    assert len(table) == 1 + len(expected(history, "month", TODAY - timedelta(days=45)))


@pytest.mark.parametrize(
    "params, field",
    [
        ({}, "from"),
        ({"from": "nope"}, "from"),
        ({"from": "2026-01-02", "to": "2026-01-01"}, "to"),
        ({"from": "2026-01-01", "group_by": "year"}, "group_by"),
        ({"from": "2026-01-01", "location_id": "0"}, "location_id"),
        ({"from": "2026-01-01", "is_paint": "maybe"}, "is_paint"),
    ],
)
def test_bad_report_parameters_are_400_naming_the_field(client, as_admin, params, field):
    result = client.simulate_get("/api/reports/consumption", headers=as_admin, params=params)
    assert result.status_code == 400, result.text
    assert field in result.json["error"]["details"]["fields"]


@pytest.mark.parametrize("since", ["0001-01-01", "0001-01-01T00:00:00", "9999-12-31", "9999-12-31T23:59:59"])
@pytest.mark.parametrize("group_by", ["day", "week", "month"])
def test_extreme_bounds_answer_200_or_400_never_500(client, as_admin, since, group_by):
    result = client.simulate_get(
        "/api/reports/consumption", headers=as_admin, params={"from": since, "group_by": group_by}
    )
    assert result.status_code in (200, 400), result.text
    inventory = client.simulate_get("/api/reports/inventory", headers=as_admin, params={"as_of": since})
    assert inventory.status_code in (200, 400), inventory.text
