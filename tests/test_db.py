"""The database layer: statements with result shapes, the three ways to run SQL, units of work, and
retries bounded by attempts and by a deadline."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from prometheus_client import REGISTRY

from service.db import READ_COMMITTED, Database
from service.errors import Busy
from service.statements import Statements

TEST_SQL = """
-- name: counter_value^
SELECT n FROM counter WHERE id = 1

-- name: bump_counter^
-- a comment line, dropped from what is sent
UPDATE counter SET n = n + %(by)s WHERE id = 1 RETURNING n

-- name: set_counter!
UPDATE counter SET n = %(n)s WHERE id = 1

-- name: all_counters
SELECT id, n FROM counter ORDER BY id

-- name: session_state^
SELECT current_setting('transaction_isolation') AS isolation, current_setting('enable_seqscan') AS seqscan,
       now() = statement_timestamp() AS implicit
"""


@pytest.fixture
def counter_db(database_url, tmp_path):
    (tmp_path / "test.sql").write_text(TEST_SQL)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)")
        conn.execute("INSERT INTO counter VALUES (1, 0)")
    database = Database(database_url, Statements(tmp_path), pool_size=2, max_attempts=5, retry_seconds=5.0)
    database.open(wait=True)
    yield database
    database.close()


def _counter(database_url) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT n FROM counter").fetchone()[0]


def test_statements_load_by_name_with_their_result_shapes(tmp_path):
    (tmp_path / "test.sql").write_text(TEST_SQL)
    sql = Statements(tmp_path)
    assert (sql.counter_value.shape, sql.set_counter.shape, sql.all_counters.shape) == ("row", "none", "rows")
    assert sql["bump_counter"] == "UPDATE counter SET n = n + %(by)s WHERE id = 1 RETURNING n"  # no comment
    assert "ping" in Statements() and "no_such_statement" not in sql
    with pytest.raises(AttributeError):
        sql.no_such_statement  # noqa: B018
    (tmp_path / "again.sql").write_text("-- name: counter_value^\nSELECT 2")
    with pytest.raises(ValueError, match="defined twice"):
        Statements(tmp_path)


def test_query_returns_what_the_statement_name_declares(counter_db):
    assert counter_db.query("counter_value") == {"n": 0}
    assert counter_db.query("set_counter", {"n": 5}) is None
    assert counter_db.query("all_counters") == [{"id": 1, "n": 5}]


def test_write_runs_one_statement_as_its_own_serializable_transaction(counter_db):
    # now() is the transaction's start: equal to the statement's start only in an implicit transaction
    assert counter_db.write("session_state") == {
        "isolation": "serializable",
        "seqscan": "off",
        "implicit": True,
    }
    assert counter_db.query("session_state")["isolation"] == "read committed"


def test_write_retries_a_statement_that_lost_a_concurrent_update_and_counts_it(counter_db, database_url):
    counted = REGISTRY.get_sample_value("weighin_serialization_retries_total")
    with psycopg.connect(database_url) as other:
        other.execute("UPDATE counter SET n = n + 100 WHERE id = 1")  # holds the row lock, uncommitted
        outcome = {}
        thread = threading.Thread(
            target=lambda: outcome.update(row=counter_db.write("bump_counter", {"by": 1}))
        )
        thread.start()
        _wait_for_lock_waiter(database_url)
        other.commit()  # the waiting statement's snapshot predates this commit: 40001, then a retry
        thread.join(10)
    assert outcome == {"row": {"n": 101}}
    assert counter_db.retries == 1
    assert REGISTRY.get_sample_value("weighin_serialization_retries_total") == counted + 1  # /metrics


def test_transaction_sends_its_steps_in_one_transaction_and_returns_each_result(counter_db, database_url):
    results = counter_db.transaction(
        ("set_counter", {"n": 7}), ("bump_counter", {"by": 1}), ("all_counters", None)
    )
    assert results == [None, {"n": 8}, [{"id": 1, "n": 8}]]
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        counter_db.transaction(("set_counter", {"n": 1}), ("bump_counter", {"by": 2**40}))
    assert _counter(database_url) == 8  # the failed transaction's first step was rolled back too


def test_unit_of_work_retries_a_serialization_failure_and_the_second_attempt_succeeds(
    counter_db, database_url
):
    attempts = []
    first_read, other_committed = threading.Event(), threading.Event()

    def work(unit):
        attempts.append(1)
        n = unit.query("counter_value")["n"]
        if len(attempts) == 1:
            first_read.set()
            other_committed.wait(10)
        unit.query("set_counter", {"n": n + 1})
        return n + 1

    def other():
        first_read.wait(10)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("UPDATE counter SET n = n + 100 WHERE id = 1")
        other_committed.set()

    thread = threading.Thread(target=other)
    thread.start()
    result = counter_db.unit_of_work(work)
    thread.join()
    assert len(attempts) == 2  # the first attempt failed with 40001, the second succeeded
    assert result == 101 == _counter(database_url)


def test_unit_of_work_rolls_back_on_error(counter_db, database_url):
    def work(unit):
        unit.transaction(("set_counter", {"n": 7}))
        1 / 0  # noqa: B018

    with pytest.raises(ZeroDivisionError):
        counter_db.unit_of_work(work, isolation=READ_COMMITTED)
    assert _counter(database_url) == 0


def test_retries_give_up_with_busy_after_the_attempts(counter_db):
    calls = []

    def always_conflicts(unit):
        calls.append(1)
        raise psycopg.errors.SerializationFailure("forced")

    with pytest.raises(Busy):
        counter_db.unit_of_work(always_conflicts)
    assert len(calls) == counter_db.max_attempts == 5


def test_retries_give_up_with_busy_at_the_deadline(counter_db):
    counter_db.max_attempts, counter_db.retry_seconds = 1000, 0.3
    started = time.monotonic()

    def always_conflicts(unit):
        raise psycopg.errors.SerializationFailure("forced")

    with pytest.raises(Busy):
        counter_db.unit_of_work(always_conflicts)
    assert time.monotonic() - started < 1.0  # stops at the deadline (0.3 s), not after 1000 attempts
    assert counter_db.retries < 1000


def _wait_for_lock_waiter(database_url, timeout=10.0):
    deadline = time.monotonic() + timeout
    with psycopg.connect(database_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            if conn.execute(waiting).fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("no statement came to wait for the row lock")
