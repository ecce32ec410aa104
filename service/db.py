"""Connections and units of work. There are three ways to run SQL, each taking a statement's name:

- `query(name, params)`: one statement in autocommit at READ COMMITTED (reads, and writes that need no
  isolation);
- `write(name, params)`: one statement as its own SERIALIZABLE transaction, retried after a
  serialization failure or deadlock until an attempt count or a deadline runs out, then 503 `BUSY_RETRY`;
- `transaction(*steps)`: several statements in one transaction and one round trip (the connection is
  pipelined; their results are read once COMMIT has succeeded), retried as a whole.

`unit_of_work(work)` hands `work` a `Unit`: one connection in one open transaction offering the same
three calls, for a request whose answer must commit with its work (an Idempotency-Key, see
service/idempotency.py). Nothing is thread-local: code runs in a unit because it was handed one.
"""

from __future__ import annotations

import functools
import logging
import random
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg import IsolationLevel
from psycopg.rows import tuple_row
from psycopg_pool import ConnectionPool

from .errors import Busy
from .metrics import RETRIES
from .sessions import Session
from .statements import Statement, Statements

log = logging.getLogger("weighin.db")
T = TypeVar("T")
Params = Mapping[str, Any] | None
Step = tuple[str, Params]

READ_COMMITTED = IsolationLevel.READ_COMMITTED
REPEATABLE_READ = IsolationLevel.REPEATABLE_READ
SERIALIZABLE = IsolationLevel.SERIALIZABLE
RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
IDLE_CHECK_SECONDS = 1.0
# Outages (SPEC §7: 503 DATABASE_UNAVAILABLE; docs/hardening.md finding 5): no request waits longer than
# CHECKOUT_SECONDS for a connection, and only DOWN_CHECKOUT_SECONDS once its pool has failed to connect.
# With reconnect_timeout = RECONNECT_SECONDS a series of connection attempts gives up after two, and the
# next request that has to wait starts a new one: while requests come, the database is tried at least
# every RECONNECT_SECONDS, so the service is back within moments of the database.
CHECKOUT_SECONDS = 0.75
DOWN_CHECKOUT_SECONDS = 0.25
RECONNECT_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 2  # libpq's least: a host that drops packets cannot stall the pool's workers
MAX_ATTEMPTS = 40
RETRY_SECONDS = 5.0  # no write keeps retrying past this, whatever attempts remain


def _run_one(conn: Session, statement: Statement, params: Params, answer: bool, row_factory) -> Any:
    cursor = conn.answer_cursor(row_factory) if answer else conn.rows_cursor
    return statement.result(cursor.execute(statement, params))


def _run_steps(conn: Session, statements: list[tuple[Statement, Params]]) -> list:
    """Several statements on a pipelined connection; their results once all have been sent."""
    with conn.pipeline():
        cursors = [conn.execute(statement, params) for statement, params in statements]
    return [statement.result(cursor) for cursor, (statement, _) in zip(cursors, statements, strict=True)]


class Unit:
    """One connection in one open transaction, owned by `Database.unit_of_work`: every call joins the
    transaction, and a serialization failure ends the whole unit, which its owner retries."""

    def __init__(self, conn: Session, sql: Statements):
        self.conn = conn
        self.sql = sql

    def query(self, name: str, params: Params = None, *, answer: bool = False, row_factory=tuple_row):
        return _run_one(self.conn, self.sql[name], params, answer, row_factory)

    def write(self, name: str, params: Params = None):
        return _run_one(self.conn, self.sql[name], params, False, tuple_row)

    def transaction(self, *steps: Step, isolation: IsolationLevel = READ_COMMITTED, retry_on=()) -> list:
        return _run_steps(self.conn, [(self.sql[name], params) for name, params in steps])


class Database:
    """One worker's two pools, both in autocommit: `pool` sessions run at READ COMMITTED (or the isolation
    a transaction names); `serial_pool` sessions default to SERIALIZABLE and prefer index scans, and take
    all SERIALIZABLE work, so `write` needs no BEGIN or COMMIT. A standby's (`writes=False`, the reports'
    DATABASE_READ_URL) keeps its serializable pool empty."""

    def __init__(
        self,
        url: str,
        sql: Statements | None = None,
        *,
        pool_size: int = 4,
        statement_timeout_ms: int = 10_000,
        name: str = "weighin",
        max_attempts: int = MAX_ATTEMPTS,
        retry_seconds: float = RETRY_SECONDS,
        pooler: str = "none",
        writes: bool = True,
    ):
        self.url = url
        self.sql = sql or Statements()
        self.max_attempts = max_attempts
        self.retry_seconds = retry_seconds
        self.retries = 0  # serialization retries since start (for metrics)
        # Through PgBouncer in transaction mode (docs/decisions.md): no startup options, no server-side
        # prepared statements, and SERIALIZABLE work begins its own transactions with SET LOCAL.
        self.pooled = pooler == "pgbouncer"
        options = (
            f"-c TimeZone=UTC -c statement_timeout={statement_timeout_ms} "
            f"-c idle_in_transaction_session_timeout={statement_timeout_ms * 3}"
        )
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()
        self._unreachable: set[str] = set()  # names of the pools whose last attempts to connect failed
        # A sequential scan inside a SERIALIZABLE transaction takes a predicate lock on the whole table, so
        # on small tables (a new warehouse, the tests) every concurrent write would conflict with it.
        serial_options = f"{options} -c default_transaction_isolation=serializable -c enable_seqscan=off"
        if self.pooled:  # PgBouncer refuses startup options (and a SET would not stay with a connection)
            options = serial_options = ""
        self.pool = self._pool(url, name, pool_size, options, pool_size)
        # a standby's (writes=False) opens no SERIALIZABLE session until one is asked for: it never is
        self.serial_pool = self._pool(
            url, f"{name}-serializable", pool_size, serial_options, pool_size if writes else 0
        )

    # --- the three ways -------------------------------------------------------------------------------

    def query(self, name: str, params: Params = None, *, answer: bool = False, row_factory=tuple_row):
        """One statement in autocommit, its rows as dicts (or made by another psycopg `row_factory`).
        `answer=True`: its rows go into a JSON answer as they are (numerics arrive as raw JSON digits, no
        arithmetic on them in Python)."""
        statement = self.sql[name]
        with self._borrow() as conn:
            return _run_one(conn, statement, params, answer, row_factory)

    def write(self, name: str, params: Params = None):
        """One statement as its own SERIALIZABLE transaction, retried (see `_retried`). Through a pooler
        BEGIN, the plan setting, the statement and COMMIT go in one pipelined round trip."""
        statement = self.sql[name]

        def once():
            with self._borrow(SERIALIZABLE) as conn:
                if not self.pooled:
                    return _run_one(conn, statement, params, False, tuple_row)
                with conn.pipeline(), conn.transaction():
                    self._serial_plan(conn, SERIALIZABLE)
                    cursor = conn.execute(statement, params)
                return statement.result(cursor)

        return self._retried(once, RETRYABLE)

    def transaction(
        self,
        *steps: Step,
        isolation: IsolationLevel = READ_COMMITTED,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
    ) -> list:
        """`steps` ((name, params), ...) in one transaction at `isolation`, sent in one round trip with BEGIN
        and COMMIT; their results, in order. Retried as a whole after a `retry_on` error."""
        statements = [(self.sql[name], params) for name, params in steps]

        def once() -> list:
            with self._borrow(isolation) as conn, conn.pipeline(), conn.transaction():
                self._serial_plan(conn, isolation)
                cursors = [conn.execute(statement, params) for statement, params in statements]
            return [statement.result(c) for c, (statement, _) in zip(cursors, statements, strict=True)]

        return self._retried(once, retry_on)

    def unit_of_work(
        self,
        work: Callable[[Unit], T],
        *,
        isolation: IsolationLevel = SERIALIZABLE,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
    ) -> T:
        """`work(unit)` in one transaction, committed when it returns; retried as a whole after a
        `retry_on` error, so `work` must touch the database only through `unit`."""

        def once() -> T:
            with self._borrow(isolation) as conn, conn.transaction():
                self._serial_plan(conn, isolation)
                return work(Unit(conn, self.sql))

        return self._retried(once, retry_on)

    def stream(self, name: str, params: Params, fields: tuple[str, ...], chunk: int) -> Iterator[list[tuple]]:
        """A read whose rows arrive `chunk` at a time through a server-side cursor (whole-list answers and
        exports), each row the values of `fields` in that order."""
        with (
            self._borrow() as conn,
            conn.transaction(),
            conn.cursor(name=f"stream_{name}", row_factory=tuple_row) as cursor,
        ):
            cursor.itersize = chunk
            cursor.execute(self.sql[name], params)
            names = [column.name for column in cursor.description]
            positions = [names.index(field) for field in fields]
            while rows := cursor.fetchmany(chunk):
                yield [tuple(row[i] for i in positions) for row in rows]

    def _serial_plan(self, conn: Session, isolation: IsolationLevel) -> None:
        """Through a pooler, a SERIALIZABLE transaction's first statement sets what the direct mode's
        serializable sessions have by default."""
        if self.pooled and isolation == SERIALIZABLE:
            conn.execute(self.sql["serial_plan"])

    # --- pools --------------------------------------------------------------------------------------------

    def open(self, wait: bool = False) -> None:
        self.pool.open(wait=wait)
        self.serial_pool.open(wait=wait)

    def close(self) -> None:
        self.pool.close()
        self.serial_pool.close()

    def _pool(self, url: str, name: str, size: int, options: str, min_size: int) -> ConnectionPool:
        return ConnectionPool(
            url,
            min_size=min_size,
            max_size=size,
            open=False,
            name=name,
            timeout=CHECKOUT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            reconnect_failed=lambda pool: self._unreachable.add(pool.name),
            configure=functools.partial(self._configure, name),
            connection_class=Session,
            kwargs={
                "autocommit": True,
                "row_factory": tuple_row,  # rows become dicts in Statement.result
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                **({"options": options} if options else {}),
                **({"prepare_threshold": None} if self.pooled else {}),
            },
            check=self._check,
        )

    def _configure(self, name: str, conn: psycopg.Connection) -> None:
        self._unreachable.discard(name)
        if self.pooled:
            conn.execute(self.sql["pooled_session"])

    def _check(self, conn: psycopg.Connection) -> None:
        """Ping a connection that sat idle, so one broken by a database restart is replaced before a request
        uses it; connections in steady use skip the round trip."""
        if time.monotonic() - self._returned.get(conn, 0.0) > IDLE_CHECK_SECONDS:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def _borrow(self, isolation: IsolationLevel = READ_COMMITTED) -> Iterator[Session]:
        """A connection for work at `isolation`, stamped with the time it goes back. (Not the pool's `reset`
        hook for the stamp: with one, psycopg_pool hands every returned connection to its worker thread,
        which costs each request two thread switches.)"""
        serial = isolation == SERIALIZABLE
        pool = self.serial_pool if serial else self.pool
        timeout = DOWN_CHECKOUT_SECONDS if pool.name in self._unreachable else CHECKOUT_SECONDS
        with pool.connection(timeout=timeout) as conn:
            try:
                # None: the session's default; through a pooler, BEGIN names SERIALIZABLE itself
                wanted = None if isolation == READ_COMMITTED or (serial and not self.pooled) else isolation
                if conn.isolation_level != wanted:
                    conn.isolation_level = wanted
                yield conn
            finally:
                self._returned[conn] = time.monotonic()

    def _retried(self, once: Callable[[], T], retry_on: tuple[type[Exception], ...]) -> T:
        """`once()`, again after each `retry_on` error with full-jitter backoff growing from 4 ms towards
        500 ms, until `max_attempts` attempts or `retry_seconds` have been spent; then `Busy` (503)."""
        deadline = time.monotonic() + self.retry_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                return once()
            except retry_on as error:
                pause = random.uniform(0, min(0.5, 0.002 * 2**attempt))
                if attempt >= self.max_attempts or time.monotonic() + pause > deadline:
                    log.warning("giving up after %d attempts: %s", attempt, getattr(error, "sqlstate", error))
                    raise Busy() from error
                self.retries += 1
                RETRIES.inc()
                time.sleep(pause)
