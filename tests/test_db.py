"""The database layer: named statements, one-statement SERIALIZABLE transactions and the retry loop."""

from __future__ import annotations

import re
import threading
import time

import psycopg
import pytest
from psycopg import _queries as psycopg_queries

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


def test_run_retries_a_serialization_failure_and_the_second_attempt_succeeds(db, database_url):
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
    result = db.run(work)
    thread.join()
    assert len(attempts) == 2  # the first attempt failed with 40001, the second succeeded
    assert result == 101
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone()[0] == 101


def test_run_gives_up_with_busy_after_bounded_attempts(db, database_url):
    calls = []

    def always_conflicts(conn):
        calls.append(1)
        raise psycopg.errors.SerializationFailure("forced")

    with pytest.raises(Busy):
        db.run(always_conflicts, attempts=3)
    assert len(calls) == 3


def test_transaction_rolls_back_on_error(db, database_url):
    _counter_table(database_url)
    with pytest.raises(ZeroDivisionError), db.transaction() as conn:
        conn.execute("UPDATE counter SET n = 7")
        1 / 0  # noqa: B018
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone()[0] == 0


def test_serializable_runs_one_statement_as_its_own_serializable_transaction(db):
    row = db.serializable(
        "SELECT current_setting('transaction_isolation') AS isolation, "
        "current_setting('enable_seqscan') AS seqscan, now() = statement_timestamp() AS implicit",
        {},
    )[0]
    # now() is the transaction's start: equal to the statement's start only in an implicit transaction
    assert row == {"isolation": "serializable", "seqscan": "off", "implicit": True}
    assert (
        db.one("SELECT current_setting('transaction_isolation') AS isolation")["isolation"]
        == "read committed"
    )


def test_serializable_retries_a_statement_that_lost_a_concurrent_update(db, database_url):
    _counter_table(database_url)
    with psycopg.connect(database_url) as other:
        other.execute("UPDATE counter SET n = n + 100 WHERE id = 1")  # holds the row lock, uncommitted
        outcome = {}

        def bump():
            outcome["rows"] = db.serializable("UPDATE counter SET n = n + 1 WHERE id = 1 RETURNING n", {})
            outcome["retries"] = db.take_retries()

        thread = threading.Thread(target=bump)
        thread.start()
        _wait_for_lock_waiter(database_url)
        other.commit()  # the waiting statement's snapshot predates this commit: 40001, then a retry
        thread.join(10)
    assert outcome == {"rows": [{"n": 101}], "retries": 1}


def _wait_for_lock_waiter(database_url, timeout=10.0):
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            if conn.execute(waiting).fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no statement came to wait for the row lock")


def test_the_longest_statements_are_parsed_once_not_per_execution(db):
    sql = Statements()
    longest = max(sql._by_name.values(), key=len)
    assert len(longest.encode()) > 4096  # above psycopg's own limit for its conversion cache
    cached = psycopg_queries._query2pg
    params = {name: None for name in re.findall(r"%\((\w+)\)s", longest)}
    with db.connection() as conn:
        query = psycopg_queries.PostgresQuery(psycopg.adapt.Transformer(conn))
        query.convert(longest, params)
        hits = cached.cache_info().hits
        query.convert(longest, params)
    assert cached.cache_info().hits == hits + 1
