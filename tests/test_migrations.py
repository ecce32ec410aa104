"""The schema: migrations apply, roll back and re-apply cleanly; the backfill; the database's own rules."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest

from service import migrations

TABLES = {
    "users",
    "refresh_tokens",
    "locations",
    "articles",
    "article_aliases",
    "batches",
    "stock",
    "surplus",
    "draft_groups",
    "weigh_in_drafts",
    "approval_actions",
    "transactions",
    "receipts",
    "inventory_counts",
    "transfers",
}


def _tables(url):
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_name NOT LIKE '%%yoyo%%'"
        ).fetchall()
    return {r[0] for r in rows}


def _weighin(url, *args):
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env={"DATABASE_URL": url, "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_migrate_creates_every_table_with_the_group_column_not_null(empty_database_url):
    out = _weighin(empty_database_url, "migrate")
    assert f"applied {len(migrations.migration_files())}:" in out
    assert _tables(empty_database_url) >= TABLES
    with psycopg.connect(empty_database_url) as conn:
        nullable = conn.execute(
            "SELECT is_nullable FROM information_schema.columns "
            "WHERE table_name = 'weigh_in_drafts' AND column_name = 'draft_group_id'"
        ).fetchone()
        fk = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE conname = 'weigh_in_drafts_group_fkey' "
            "AND contype = 'f'"
        ).fetchone()
    assert nullable == ("NO",)
    assert fk == (1,)


def test_rollback_to_zero_and_migrate_again_is_clean_and_nothing_stays_pending(empty_database_url):
    url = empty_database_url
    _weighin(url, "migrate")
    out = _weighin(url, "migrate", "--rollback", "99")
    assert f"rolled back {len(migrations.migration_files())}:" in out
    assert not (TABLES & _tables(url))
    _weighin(url, "migrate")
    applied, pending = migrations.status(url)
    assert pending == []
    # yoyo silently skips a file it cannot load: every file on disk must be applied
    assert applied == migrations.migration_files()
    assert "pending" not in _weighin(url, "status")


def _base_rows(conn):
    user = conn.execute(
        "INSERT INTO users (username, password_hash, role) VALUES ('u', 'x', 'OPERATOR') RETURNING id"
    ).fetchone()[0]
    loc = conn.execute("INSERT INTO locations (code, name) VALUES ('13', 'Main') RETURNING id").fetchone()[0]
    art = conn.execute("INSERT INTO articles (article_no) VALUES ('P-1') RETURNING id").fetchone()[0]
    other = conn.execute("INSERT INTO articles (article_no) VALUES ('P-2') RETURNING id").fetchone()[0]
    batch = conn.execute(
        "INSERT INTO batches (article_id, batch_code) VALUES (%s, '12345') RETURNING id", (art,)
    ).fetchone()[0]
    other_batch = conn.execute(
        "INSERT INTO batches (article_id, batch_code) VALUES (%s, '54321') RETURNING id", (other,)
    ).fetchone()[0]
    return {"user": user, "loc": loc, "art": art, "other": other, "batch": batch, "other_batch": other_batch}


def test_backfill_puts_each_existing_draft_in_its_own_one_line_group(empty_database_url):
    url = empty_database_url
    migrations.migrate(url, upto="0001_baseline")
    stamps = {
        "DRAFT": datetime(2024, 3, 1, 8, 5, 9, tzinfo=UTC),
        "APPROVED": datetime(2024, 3, 2, 17, 30, 0, tzinfo=UTC),
        "REJECTED": datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC),
    }
    with psycopg.connect(url) as conn:
        ids = _base_rows(conn)
        drafts = {}
        for n, (status, at) in enumerate(stamps.items()):
            consumed = (1, 0) if status == "APPROVED" else (None, None)
            drafts[status] = conn.execute(
                "INSERT INTO weigh_in_drafts (location_id, article_id, batch_id, quantity_kg, status, source,"
                " client_event_id, created_by_user_id, created_at, consumed_surplus_kg, consumed_stock_kg)"
                " VALUES (%s, %s, %s, 1, %s, 'scale', %s, %s, %s, %s, %s) RETURNING id",
                (ids["loc"], ids["art"], ids["batch"], status, f"ev-{n}", ids["user"], at, *consumed),
            ).fetchone()[0]
    assert migrations.migrate(url)[0] == "0002_draft_groups"
    with psycopg.connect(url) as conn:
        for status, draft_id in drafts.items():
            group_id, name, gstatus, loc, creator = conn.execute(
                "SELECT g.id, g.name, g.status, g.location_id, g.created_by_user_id FROM weigh_in_drafts d "
                "JOIN draft_groups g ON g.id = d.draft_group_id WHERE d.id = %s",
                (draft_id,),
            ).fetchone()
            assert name == "AutoSingleDraft_" + stamps[status].strftime("%Y%m%d_%H%M%S")
            assert gstatus == status
            assert (loc, creator) == (ids["loc"], ids["user"])
            lines = conn.execute(
                "SELECT count(*) FROM weigh_in_drafts WHERE draft_group_id = %s", (group_id,)
            ).fetchone()[0]
            assert lines == 1
        # new groups get fresh ids after the backfilled ones
        new_id = conn.execute(
            "INSERT INTO draft_groups (name, source, location_id, created_by_user_id) "
            "VALUES ('n', 'scale', %s, %s) RETURNING id",
            (ids["loc"], ids["user"]),
        ).fetchone()[0]
        assert new_id > max(drafts.values())


def test_rolling_back_transfers_turns_their_ledger_rows_into_adjustments_and_keeps_the_sums(
    empty_database_url,
):
    url = empty_database_url
    migrations.migrate(url, upto="0012_stock_reads")
    with psycopg.connect(url, autocommit=True) as conn:
        ids = _base_rows(conn)
        there = conn.execute(
            "INSERT INTO locations (code, name) VALUES ('14', 'Shop') RETURNING id"
        ).fetchone()[0]
        moved = conn.execute(
            "INSERT INTO transfers (from_location_id, to_location_id, user_id, request, lines) "
            "VALUES (%s, %s, %s, '{}', '[]') RETURNING id",
            (ids["loc"], there, ids["user"]),
        ).fetchone()[0]
        for tx_type, loc, qty in (("TRANSFER_OUT", ids["loc"], -2), ("TRANSFER_IN", there, 2)):
            conn.execute(
                "INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id,"
                " transfer_id) VALUES (%s, 'STOCK', %s, %s, %s, %s, %s)",
                (tx_type, qty, loc, ids["art"], ids["batch"], moved),
            )
    migrations.rollback(url, 2)  # 0012_stock_reads, then 0011_transfers
    with psycopg.connect(url) as conn:
        ledger = conn.execute(
            "SELECT tx_type, bucket, quantity_kg::text, meta ->> 'tx_type', (meta ->> 'transfer_id')::bigint "
            "FROM transactions ORDER BY id"
        ).fetchall()
    assert ledger == [
        ("INVENTORY_ADJUSTMENT", "STOCK", "-2.00", "TRANSFER_OUT", moved),
        ("INVENTORY_ADJUSTMENT", "STOCK", "2.00", "TRANSFER_IN", moved),
    ]
    assert "transfers" not in _tables(url)
    migrations.migrate(url)


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture
def rows(conn):
    ids = _base_rows(conn)
    ids["group"] = conn.execute(
        "INSERT INTO draft_groups (name, source, location_id, created_by_user_id) "
        "VALUES ('g', 'scale', %s, %s) RETURNING id",
        (ids["loc"], ids["user"]),
    ).fetchone()[0]
    return ids


def _draft(conn, rows, *, quantity="1", batch=None, article=None, event="ev-1", status="DRAFT"):
    conn.execute(
        "INSERT INTO weigh_in_drafts (draft_group_id, location_id, article_id, batch_id, quantity_kg, status,"
        " source, client_event_id, created_by_user_id) VALUES (%s, %s, %s, %s, %s, %s, 'scale', %s, %s)",
        (
            rows["group"],
            rows["loc"],
            article or rows["art"],
            batch or rows["batch"],
            quantity,
            status,
            event,
            rows["user"],
        ),
    )


def test_database_refuses_negative_stock(conn, rows):
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO stock (location_id, batch_id, article_id, quantity_kg) VALUES (%s, %s, %s, -1)",
            (rows["loc"], rows["batch"], rows["art"]),
        )


@pytest.mark.parametrize("quantity", ["0", "10000", "-1"])
def test_database_refuses_draft_quantity_out_of_range(conn, rows, quantity):
    with pytest.raises(psycopg.errors.CheckViolation):
        _draft(conn, rows, quantity=quantity)


def test_database_accepts_the_draft_quantity_bounds(conn, rows):
    _draft(conn, rows, quantity="0.01", event="low")
    _draft(conn, rows, quantity="9999.99", event="high")
    stored = conn.execute(
        "SELECT client_event_id, quantity_kg::text FROM weigh_in_drafts WHERE client_event_id IN ('low', 'high')"
        " ORDER BY quantity_kg"
    ).fetchall()
    assert stored == [("low", "0.01"), ("high", "9999.99")]


def test_database_refuses_a_draft_whose_batch_belongs_to_another_article(conn, rows):
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        _draft(conn, rows, batch=rows["other_batch"])


def test_database_refuses_stock_whose_batch_belongs_to_another_article(conn, rows):
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO stock (location_id, batch_id, article_id, quantity_kg) VALUES (%s, %s, %s, 1)",
            (rows["loc"], rows["other_batch"], rows["art"]),
        )


def test_database_refuses_an_unknown_status(conn, rows):
    with pytest.raises(psycopg.errors.CheckViolation):
        _draft(conn, rows, status="PENDING")


def test_database_refuses_a_duplicate_client_event_id(conn, rows):
    _draft(conn, rows, event="same")
    with pytest.raises(psycopg.errors.UniqueViolation):
        _draft(conn, rows, event="same")


def test_database_refuses_a_line_whose_location_differs_from_its_group(conn, rows):
    other = conn.execute("INSERT INTO locations (code, name) VALUES ('14', 'Other') RETURNING id").fetchone()[
        0
    ]
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(
            "INSERT INTO weigh_in_drafts (draft_group_id, location_id, article_id, batch_id, quantity_kg,"
            " source, client_event_id, created_by_user_id) VALUES (%s, %s, %s, %s, 1, 'scale', 'x', %s)",
            (rows["group"], other, rows["art"], rows["batch"], rows["user"]),
        )


def test_no_index_covers_status_so_approvals_stay_hot(conn):
    covering = conn.execute(
        "SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid IN ('draft_groups'::regclass, 'weigh_in_drafts'::regclass) "
        "AND a.attname = 'status' UNION SELECT indexrelid::regclass::text FROM pg_index "
        "WHERE indrelid IN ('draft_groups'::regclass, 'weigh_in_drafts'::regclass) AND indpred IS NOT NULL"
    ).fetchall()
    assert covering == []


def test_ledger_is_append_only(conn, rows):
    conn.execute(
        "INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id) "
        "VALUES ('STOCK_RECEIPT', 'STOCK', 5, %s, %s, %s)",
        (rows["loc"], rows["art"], rows["batch"]),
    )
    with pytest.raises(psycopg.errors.RestrictViolation):
        conn.execute("UPDATE transactions SET quantity_kg = 6")
    with pytest.raises(psycopg.errors.RestrictViolation):
        conn.execute("DELETE FROM transactions")


def test_ledger_refuses_a_movement_in_the_wrong_bucket(conn, rows):
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute(
            "INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id) "
            "VALUES ('SURPLUS_CONSUMED', 'STOCK', -1, %s, %s, %s)",
            (rows["loc"], rows["art"], rows["batch"]),
        )


def test_paint_batch_codes_must_be_ascii_digits_of_the_allowed_lengths(conn, rows):
    for code in ("123", "123456", "1234567890123", "١٢٣٤", "12345\n", "abcd"):
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO batches (article_id, batch_code) VALUES (%s, %s)", (rows["art"], code))


def test_the_local_cluster_runs_with_the_production_settings(local_cluster, database_url):
    with psycopg.connect(database_url) as conn:
        shown = {
            name: conn.execute(f"SHOW {name}").fetchone()[0]
            for name in ("max_pred_locks_per_page", "max_pred_locks_per_transaction", "wal_compression")
        }
    assert shown == {
        "max_pred_locks_per_page": "32",
        "max_pred_locks_per_transaction": "1024",
        "wal_compression": "lz4",
    }
