"""The database layer: named statements and the SERIALIZABLE retry loop."""

from __future__ import annotations

import threading

import psycopg
import pytest

from service.db import Statements
from service.errors import Busy


def test_statements_load_by_name():
    sql = Statements()
    assert "SELECT 1" in sql.ping
    assert "ping" in sql
    with pytest.raises(AttributeError):
        sql.no_such_statement  # noqa: B018


def _counter_table(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO counter VALUES (1, 0)")


def test_serializable_retries_a_serialization_failure_and_the_second_attempt_succeeds(db, database_url):
    _counter_table(database_url)
    attempts = []
    first_read = threading.Event()
    other_committed = threading.Event()

    def work(conn):
        attempts.append(1)
        n = conn.execute("SELECT n FROM counter WHERE id = 1").fetchone()["n"]
        if len(attempts) == 1:
            first_read.set()
            other_committed.wait(10)
        conn.execute("UPDATE counter SET n = %s WHERE id = 1", (n + 1,))
        return lambda: n + 1

    def other():
        first_read.wait(10)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
        other_committed.set()

    thread = threading.Thread(target=other)
    thread.start()
    result = db.serializable(work)
    thread.join()
    assert len(attempts) == 2  # the first attempt failed with 40001, the second succeeded
    assert result == 101
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone()[0] == 101


def test_serializable_gives_up_with_busy_after_bounded_attempts(db, database_url):
    calls = []

    def always_conflicts(conn):
        calls.append(1)
        raise psycopg.errors.SerializationFailure("forced")

    with pytest.raises(Busy):
        db.serializable(always_conflicts, attempts=3)
    assert len(calls) == 3


def test_transaction_rolls_back_on_error(db, database_url):
    _counter_table(database_url)
    with pytest.raises(ZeroDivisionError), db.transaction() as conn:
        conn.execute("UPDATE counter SET n = 7")
        1 / 0  # noqa: B018
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone()[0] == 0
