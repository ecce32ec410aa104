"""The named statements: every name is defined once; the statements a request runs on the hot paths fit
psycopg's own cache of converted queries; and pending_groups, kept by triggers (migration 0010), is
reported by `pending_groups_drift` wherever it differs from the groups and their lines."""

from __future__ import annotations

import json
from collections import Counter

import psycopg
import pytest

from service.statements import _NAME, SQL_DIR, Statements

# psycopg converts a query's %(name)s placeholders once and keeps the result only for queries of at most
# this many bytes (psycopg._queries.MAX_CACHED_STATEMENT_LENGTH); a longer one is converted on every call
PSYCOPG_CACHED_BYTES = 4096
HOT = (
    "approve_group",
    "transfer_stock",
    "create_group",
    "group_detail",
    "draft_detail",
    "list_drafts",
    "count_drafts",
    "list_all_pending_groups",
    "list_pending_groups",
    "list_groups",
)


@pytest.mark.parametrize("name", HOT)
def test_the_hot_statements_fit_psycopgs_own_query_cache(name):
    assert len(Statements()[name].encode()) <= PSYCOPG_CACHED_BYTES


def test_every_statement_name_is_defined_once_in_sql():
    names = Counter(m.group(1) for path in SQL_DIR.glob("*.sql") for m in _NAME.finditer(path.read_text()))
    assert names and [name for name, times in names.items() if times > 1] == []


def test_the_loader_refuses_a_name_defined_twice(tmp_path):
    (tmp_path / "a.sql").write_text("-- name: twice\nSELECT 1\n")
    (tmp_path / "b.sql").write_text("-- name: twice^\nSELECT 2\n")
    with pytest.raises(ValueError, match="defined twice"):
        Statements(tmp_path)


def test_rows_come_as_dicts_by_column_name_with_the_names_read_once_per_statement(tmp_path, database_url):
    (tmp_path / "a.sql").write_text(
        "-- name: pair\nSELECT n AS id, n * 2 AS twice FROM generate_series(1, %(n)s) n\n"
    )
    pair = Statements(tmp_path)["pair"]
    with psycopg.connect(database_url, autocommit=True) as conn:
        cursor = conn.cursor(row_factory=psycopg.rows.tuple_row)
        assert pair.columns is None
        assert pair.result(cursor.execute(pair, {"n": 2})) == [{"id": 1, "twice": 2}, {"id": 2, "twice": 4}]
        names = pair.columns
        assert names == ("id", "twice")
        assert pair.result(cursor.execute(pair, {"n": 1})) == [{"id": 1, "twice": 2}]
        assert pair.columns is names  # kept, not read again
        # a cursor with a row factory of its own (the group lists' summary_row) makes its rows itself
        own = conn.cursor(row_factory=psycopg.rows.namedtuple_row)
        assert pair.result(own.execute(pair, {"n": 1}))[0].twice == 2


# --- pending_groups kept by triggers, and its drift ------------------------------------------------------


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def world(conn):
    """An admin, the default location, an article with one batch holding 100 kg of stock."""

    def one(sql, *args):
        return conn.execute(sql, args).fetchone()[0]

    user = one("INSERT INTO users (username, password_hash, role) VALUES ('boss', 'x', 'ADMIN') RETURNING id")
    location = one(
        "INSERT INTO locations (code, name) VALUES ('13', 'Main') "
        "ON CONFLICT (code) DO UPDATE SET code = excluded.code RETURNING id"
    )
    article = one("INSERT INTO articles (article_no, is_paint) VALUES ('P-DRIFT', true) RETURNING id")
    batch = one("INSERT INTO batches (article_id, batch_code) VALUES (%s, '12345') RETURNING id", article)
    conn.execute(
        "INSERT INTO stock (location_id, batch_id, article_id, quantity_kg) VALUES (%s, %s, %s, 100)",
        (location, batch, article),
    )
    conn.execute(
        "INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, source) "
        "VALUES ('STOCK_RECEIPT', 'STOCK', 100, %s, %s, %s, 'test')",
        (location, article, batch),
    )
    return {"user": user, "location": location, "article": article, "batch": batch}


def _create(conn, world, *quantities, events):
    lines = [
        {
            "n": n,
            "article_id": world["article"],
            "batch_id": world["batch"],
            "quantity_kg": q,
            "client_event_id": event,
            "note": None,
            "draft_type": "WEIGH_IN",
        }
        for n, (q, event) in enumerate(zip(quantities, events, strict=True))
    ]
    row = conn.execute(
        Statements().create_group,
        {
            "lines": json.dumps(lines),
            "location_id": None,
            "default_location_code": "13",
            "name": None,
            "name_prefix": "AdminDraft",
            "source": "ui_admin",
            "user_id": world["user"],
            "whole_group": True,
        },
    ).fetchone()
    assert row[0] == "create"
    return row[1]


def _run(conn, statement, **params):
    return conn.execute(Statements()[statement], params).fetchone()


def _drift(conn):
    return conn.execute(Statements().pending_groups_drift).fetchall()


def _listed(conn):
    return conn.execute(
        "SELECT group_id, name, line_count, total_quantity_kg::text FROM pending_groups ORDER BY group_id"
    ).fetchall()


def test_the_statements_keep_pending_groups_through_the_triggers(conn, world):
    kept, approved, rejected = (_create(conn, world, "1", "2", events=[f"e{k}a", f"e{k}b"]) for k in range(3))
    first = conn.execute("SELECT min(id) FROM weigh_in_drafts WHERE draft_group_id = %s", (kept,)).fetchone()
    actor = {"actor_id": world["user"], "actor_is_admin": True}
    edit = {"draft_id": first[0], "quantity_kg": "4.50", "set_note": False, "note": None}
    assert _run(conn, "edit_draft", **edit, **actor)[0] == "edited"
    assert _run(conn, "rename_group", group_id=kept, name="renamed", **actor)[0] == "renamed"
    decision = {"draft_id": None, "actor_id": world["user"], "note": None}
    assert _run(conn, "approve_group", group_id=approved, **decision)[0] == "approved"
    assert _run(conn, "reject_group", group_id=rejected, **decision)[0] == "rejected"
    count = {"location_id": None, "default_location_code": "13", "article_id": world["article"]}
    count |= {"batch_id": world["batch"], "counted_total": "90", "note": None, "client_event_id": None}
    count |= {"request": "{}", "user_id": world["user"], "max_lines": 500, "max_balance": 999999}
    counted = _run(conn, "count_inventory", **count)  # 100 kg less the 3 approved: 7 short
    assert counted[0] == "counted"
    shortage = counted[14]  # shortage_group_id
    name = conn.execute("SELECT name FROM draft_groups WHERE id = %s", (shortage,)).fetchone()[0]
    assert _listed(conn) == [(kept, "renamed", 2, "6.50"), (shortage, name, 1, "7.00")]
    assert _drift(conn) == []


def test_lines_written_by_hand_move_the_list_too(conn, world):
    group, other = (_create(conn, world, "1", events=[event]) for event in ("h1", "h2"))
    conn.execute(
        "INSERT INTO weigh_in_drafts (draft_group_id, location_id, article_id, batch_id, quantity_kg, source, "
        "client_event_id, created_by_user_id) SELECT %s, %s, %s, %s, q, 'scale', 'hand-' || q, %s "
        "FROM unnest(ARRAY[2, 3]::numeric[]) q",
        (group, world["location"], world["article"], world["batch"], world["user"]),
    )
    conn.execute("UPDATE weigh_in_drafts SET draft_group_id = %s WHERE client_event_id = 'hand-2'", (other,))
    conn.execute("DELETE FROM weigh_in_drafts WHERE client_event_id = 'h1'")
    assert [(g, n, total) for g, _, n, total in _listed(conn)] == [(group, 1, "3.00"), (other, 2, "3.00")]
    assert _drift(conn) == []


def test_the_drift_names_every_entry_that_is_wrong_missing_or_extra(conn, world):
    wrong, missing, decided = (_create(conn, world, "1", events=[event]) for event in ("d1", "d2", "d3"))
    with conn.transaction():
        conn.execute("ALTER TABLE draft_groups DISABLE TRIGGER pending_groups_group_changed")
        conn.execute(
            "UPDATE draft_groups SET status = 'REJECTED', decided_at = now() WHERE id = %s", (decided,)
        )
        conn.execute("ALTER TABLE draft_groups ENABLE TRIGGER pending_groups_group_changed")
    conn.execute("UPDATE pending_groups SET line_count = 7 WHERE group_id = %s", (wrong,))
    conn.execute("DELETE FROM pending_groups WHERE group_id = %s", (missing,))
    drift = {group: (kept is not None, expected is not None) for group, kept, expected in _drift(conn)}
    assert drift == {wrong: (True, True), missing: (False, True), decided: (True, False)}
