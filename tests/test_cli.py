"""The CLI's seed and create-user: idempotent, and demo balances booked through the ledger."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psycopg

WEIGHIN = str(Path(sys.executable).with_name("weighin"))


def _run(url, *args, stdin=""):
    return subprocess.run(
        [WEIGHIN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={"DATABASE_URL": url, "JWT_SECRET": "x" * 40, "ENV": "test"},
    )


def test_seed_creates_location_and_users_once_and_prints_passwords_once(database_url):
    first = _run(database_url, "seed")
    assert first.returncode == 0, first.stderr
    assert "username=admin password=" in first.stdout and "username=operator" in first.stdout
    second = _run(database_url, "seed")
    assert "password=" not in second.stdout
    with psycopg.connect(database_url) as conn:
        # the older desktop client sends location_id 13: a fresh database's default location has that id
        assert conn.execute("SELECT id, code FROM locations").fetchall() == [(13, "13")]
        conn.execute("INSERT INTO locations (code, name) VALUES ('14', 'Next')")
        assert conn.execute("SELECT id FROM locations WHERE code = '14'").fetchone() == (14,)
        roles = conn.execute(
            "SELECT username, role, password_hash LIKE '$argon2id$%%' FROM users ORDER BY id"
        )
        assert roles.fetchall() == [("admin", "ADMIN", True), ("operator", "OPERATOR", True)]


def test_seed_leaves_the_locations_of_a_used_database_alone(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO locations (code, name) VALUES ('A1', 'Hall A')")
    assert _run(database_url, "seed").returncode == 0
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT id, code FROM locations ORDER BY id").fetchall() == [(1, "A1"), (2, "13")]


def test_seed_demo_balances_equal_their_ledger_sums(database_url):
    assert _run(database_url, "seed", "--demo").returncode == 0
    assert _run(database_url, "seed", "--demo").returncode == 0  # a second run adds nothing
    with psycopg.connect(database_url) as conn:
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        mismatches = conn.execute("""
            SELECT b.bucket, b.location_id, b.batch_id FROM (
                SELECT 'STOCK' AS bucket, location_id, batch_id, quantity_kg FROM stock
                UNION ALL SELECT 'SURPLUS', location_id, batch_id, quantity_kg FROM surplus) b
            LEFT JOIN (SELECT bucket, location_id, batch_id, sum(quantity_kg) AS total
                       FROM transactions WHERE bucket IS NOT NULL GROUP BY 1, 2, 3) l USING (bucket, location_id, batch_id)
            WHERE b.quantity_kg <> coalesce(l.total, 0)""").fetchall()
        stock_rows = conn.execute("SELECT count(*) FROM stock WHERE quantity_kg > 0").fetchone()[0]
    assert articles == 5
    assert stock_rows > 0
    assert mismatches == []


def test_create_user_reads_the_password_from_stdin_and_refuses_duplicates(database_url):
    made = _run(database_url, "create-user", "--username", "Anna", "--role", "ADMIN", stdin="correct horse\n")
    assert made.returncode == 0, made.stderr
    again = _run(
        database_url, "create-user", "--username", "anna", "--role", "OPERATOR", stdin="another pw\n"
    )
    assert again.returncode != 0 and "exists already" in again.stderr
    short = _run(database_url, "create-user", "--username", "bob", "--role", "OPERATOR", stdin="short\n")
    assert short.returncode != 0 and "password" in short.stderr
