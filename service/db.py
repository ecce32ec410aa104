"""Connections and transactions: the per-worker pool, `transaction()`, the SERIALIZABLE retry loop,
and the named statements loaded from `sql/*.sql`. No other module opens connections or catches
serialization failures."""

from __future__ import annotations

import functools
import logging
import random
import re
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import msgspec
import psycopg
from psycopg import IsolationLevel
from psycopg import _queries as psycopg_queries
from psycopg.adapt import Loader
from psycopg.rows import RowFactory, dict_row
from psycopg_pool import ConnectionPool

from .config import PROJECT_ROOT
from .errors import Busy

log = logging.getLogger("weighin.db")
T = TypeVar("T")

SQL_DIR = PROJECT_ROOT / "sql"
IDLE_CHECK_SECONDS = 1.0
# Outages (SPEC §7: 503 DATABASE_UNAVAILABLE; issue 14: within 1 s, and back within 2 s of the database).
# No request waits longer than CHECKOUT_SECONDS for a connection, and only DOWN_CHECKOUT_SECONDS once its
# pool has failed to connect for RECONNECT_SECONDS: a request during an outage answers 503 at once
# instead of holding a thread, yet still waits long enough to take a connection that has just been made.
# psycopg_pool retries a failed connect after a delay that doubles from 1 s until reconnect_timeout (5 min
# by default) has passed, so a database back after a minute was found up to a minute late. With
# reconnect_timeout = RECONNECT_SECONDS each series of attempts gives up after two, and the next request
# that has to wait starts a new one at once (the pool grows back on demand): while requests come, the
# database is tried at least every RECONNECT_SECONDS.
CHECKOUT_SECONDS = 0.75
DOWN_CHECKOUT_SECONDS = 0.25
RECONNECT_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 2  # libpq's least: a host that drops packets cannot stall the pool's workers
RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)
# psycopg caches the conversion of a statement's %(name)s placeholders, but only for statements up to
# 4 KiB (longer ones are taken for generated one-offs) and re-parses longer ones on every execution.
# Ours are a fixed set of named statements and the hot writes are longer than that (approve_group is
# 7.5 KiB): let the cache keep them. tests/test_db.py checks that it does.
psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = max(psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, 64 * 1024)


class Statements:
    """Named SQL statements: each `-- name: x` line in `sql/*.sql` starts statement `x`."""

    def __init__(self, directory: Path = SQL_DIR):
        self._by_name: dict[str, str] = {}
        for path in sorted(directory.glob("*.sql")):
            text = path.read_text()
            marks = list(_NAME.finditer(text))
            for mark, following in zip(marks, [*marks[1:], None], strict=True):
                body = text[mark.end() : following.start() if following else len(text)].strip()
                name = mark.group(1)
                if name in self._by_name:
                    raise ValueError(f"statement {name!r} is defined twice (second in {path.name})")
                self._by_name[name] = body

    def __getitem__(self, name: str) -> str:
        return self._by_name[name]

    def __getattr__(self, name: str) -> str:
        try:
            return self._by_name[name]
        except KeyError:
            raise AttributeError(f"no SQL statement named {name!r}") from None

    def __contains__(self, name: str) -> bool:
        return name in self._by_name


class NumericAsJson(Loader):
    """numeric → PostgreSQL's own digits as raw JSON: the value enters a JSON answer as the number it
    is, without a Decimal built and formatted back (and never a float)."""

    def load(self, data) -> msgspec.Raw:
        return msgspec.Raw(bytes(data))


class Session(psycopg.Connection):
    """A pool connection that keeps a cursor for each kind of one-statement helper: building a cursor
    (and, for answers, its loader map) per statement costs more Python than reusing one."""

    @functools.cached_property
    def rows_cursor(self) -> psycopg.Cursor:
        return self.cursor()

    @functools.cached_property
    def _answer_cursors(self) -> dict[RowFactory, psycopg.Cursor]:
        return {}

    def answer_cursor(self, row_factory: RowFactory = dict_row) -> psycopg.Cursor:
        """The kept cursor for answers whose rows `row_factory` makes (one cursor per factory)."""
        cursor = self._answer_cursors.get(row_factory)
        if cursor is None:
            cursor = self._answer_cursors[row_factory] = self.cursor(row_factory=row_factory)
            cursor.adapters.register_loader("numeric", NumericAsJson)
        return cursor


class Database:
    """Owns one worker's two pools, both in autocommit. `pool` sessions run at READ COMMITTED;
    `serial_pool` sessions default to SERIALIZABLE and prefer index scans, and take all SERIALIZABLE
    work: `serializable()` runs one statement there as its own transaction (one round trip, no BEGIN or
    COMMIT), `run()`, `pinned()` and `transaction()` open explicit transactions on whichever pool their
    isolation names. Inside `pinned()` every helper uses that one connection and its open transaction,
    so a whole request (an Idempotency-Key claim, the work and the kept answer) commits or rolls back
    as one."""

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 4,
        statement_timeout_ms: int = 10_000,
        name: str = "weighin",
        max_attempts: int = 40,
    ):
        self.url = url
        self.max_attempts = max_attempts
        self._local = threading.local()
        options = (
            f"-c TimeZone=UTC -c statement_timeout={statement_timeout_ms} "
            f"-c idle_in_transaction_session_timeout={statement_timeout_ms * 3}"
        )
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()
        self._unreachable: set[str] = set()  # names of the pools whose last attempts to connect failed
        self.pool = self._pool(url, name, pool_size, options)
        # A sequential scan inside a SERIALIZABLE transaction takes a predicate lock on the whole table, so
        # on small tables (a new warehouse, the tests) every concurrent write would conflict with it.
        serial_options = f"{options} -c default_transaction_isolation=serializable -c enable_seqscan=off"
        self.serial_pool = self._pool(url, f"{name}-serializable", pool_size, serial_options)

    def _pool(self, url: str, name: str, size: int, options: str) -> ConnectionPool:
        return ConnectionPool(
            url,
            min_size=size,
            max_size=size,
            open=False,
            name=name,
            timeout=CHECKOUT_SECONDS,
            reconnect_timeout=RECONNECT_SECONDS,
            reconnect_failed=lambda pool: self._unreachable.add(pool.name),
            configure=lambda conn: self._unreachable.discard(name),
            connection_class=Session,
            kwargs={
                "autocommit": True,
                "row_factory": dict_row,
                "options": options,
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            },
            check=self._check,
        )

    def _check(self, conn: psycopg.Connection) -> None:
        """Ping a connection that sat idle, so one broken by a database restart is replaced before a request
        uses it; connections in steady use skip the round trip."""
        if time.monotonic() - self._returned.get(conn, 0.0) > IDLE_CHECK_SECONDS:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def _borrow(
        self, timeout: float | None = None, isolation: IsolationLevel | None = None
    ) -> Iterator[Session]:
        """A connection for work at `isolation` (None: READ COMMITTED), stamped with the time it goes
        back. SERIALIZABLE work gets a serializable session. (Not the pool's `reset` hook for the stamp:
        with one, psycopg_pool hands every returned connection to its worker thread, which costs each
        request two thread switches.)"""
        serial = isolation == IsolationLevel.SERIALIZABLE
        pool = self.serial_pool if serial else self.pool
        longest = DOWN_CHECKOUT_SECONDS if pool.name in self._unreachable else CHECKOUT_SECONDS
        timeout = longest if timeout is None else min(timeout, longest)
        with pool.connection(timeout=timeout) as conn:
            try:
                wanted = None if serial else isolation  # None: the session's default
                if conn.isolation_level != wanted:
                    conn.isolation_level = wanted
                yield conn
            finally:
                self._returned[conn] = time.monotonic()

    def open(self, wait: bool = False) -> None:
        self.pool.open(wait=wait)
        self.serial_pool.open(wait=wait)

    def close(self) -> None:
        self.pool.close()
        self.serial_pool.close()

    def _pinned(self) -> Session | None:
        return getattr(self._local, "conn", None)

    def take_retries(self) -> int:
        """Retries this thread spent since the last call (for the access log)."""
        spent, self._local.retries = getattr(self._local, "retries", 0), 0
        return spent

    def _retried(
        self, once: Callable[[], T], retry_on: tuple[type[Exception], ...], attempts: int | None
    ) -> T:
        """`once()`, again after each `retry_on` error with full-jitter backoff growing from 4 ms towards
        500 ms; after the last attempt `Busy` (503)."""
        attempts = attempts or self.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                return once()
            except retry_on as error:
                if attempt == attempts:
                    log.warning("giving up after %d attempts: %s", attempt, getattr(error, "sqlstate", error))
                    raise Busy() from error
                self._local.retries = getattr(self._local, "retries", 0) + 1
                time.sleep(random.uniform(0, min(0.5, 0.002 * 2**attempt)))
        raise AssertionError("unreachable")

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[Session]:
        pinned = self._pinned()
        if pinned is not None:
            yield pinned
            return
        with self._borrow(timeout) as conn:
            yield conn

    def one(self, statement: str, params: dict | None = None) -> dict | None:
        """One autocommit statement; its first row."""
        with self.connection() as conn:
            return conn.rows_cursor.execute(statement, params).fetchone()

    def all(self, statement: str, params: dict | None = None) -> list[dict]:
        """One autocommit statement; all its rows."""
        with self.connection() as conn:
            return conn.rows_cursor.execute(statement, params).fetchall()

    def answer_rows(
        self, statement: str, params: dict | None = None, row_factory: RowFactory = dict_row
    ) -> list:
        """One autocommit statement whose rows go into a JSON answer as they are: numerics arrive as
        NumericAsJson raw JSON (no arithmetic on them in Python); rows as `row_factory` makes them."""
        with self.connection() as conn:
            return conn.answer_cursor(row_factory).execute(statement, params).fetchall()

    @contextmanager
    def transaction(self, isolation: IsolationLevel | None = None) -> Iterator[Session]:
        """One READ COMMITTED (or given isolation) transaction; commits on success, rolls back on error."""
        pinned = self._pinned()
        if pinned is not None:
            with pinned.transaction():  # a savepoint inside the pinned transaction
                yield pinned
            return
        with self._borrow(isolation=isolation) as conn, conn.transaction():
            yield conn

    def serializable(self, statement: str, params: dict, *, attempts: int | None = None) -> list[dict]:
        """One statement as its own SERIALIZABLE transaction (autocommit on a serializable session: one
        round trip, no BEGIN or COMMIT); its rows. Serialization failures (40001) and deadlocks (40P01)
        are retried. Inside `pinned()` the statement joins the pinned transaction, whose owner retries."""
        pinned = self._pinned()
        if pinned is not None:
            return pinned.rows_cursor.execute(statement, params).fetchall()

        def once() -> list[dict]:
            with self._borrow(isolation=IsolationLevel.SERIALIZABLE) as conn:
                return conn.rows_cursor.execute(statement, params).fetchall()

        return self._retried(once, RETRYABLE, attempts)

    def run(
        self,
        work: Callable[[psycopg.Connection], Callable[[], T]],
        *,
        isolation: IsolationLevel | None = IsolationLevel.SERIALIZABLE,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
        attempts: int | None = None,
    ) -> T:
        """Run `work` in one transaction, commit included, retrying `retry_on` errors with jittered backoff.

        `work(conn)` queues its statements and returns a function that reads their results. The
        connection is in pipeline mode, so BEGIN, the statements and COMMIT travel in one round trip
        unless `work` reads a result early; results are read only once the COMMIT has succeeded.
        `work` must be safe to run again: it talks to the database only through `conn`.
        Inside `pinned()` the work joins the pinned transaction, whose owner retries.
        """
        pinned = self._pinned()
        if pinned is not None:
            return work(pinned)()

        def once() -> T:
            with self._borrow(isolation=isolation) as conn:
                with conn.pipeline(), conn.transaction():
                    read = work(conn)
                return read()

        return self._retried(once, retry_on, attempts)

    def pinned(
        self,
        work: Callable[[psycopg.Connection], T],
        *,
        isolation: IsolationLevel | None = IsolationLevel.SERIALIZABLE,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
        attempts: int | None = None,
    ) -> T:
        """Run `work(conn)` in one transaction that every helper of this thread joins meanwhile; retried
        as a whole on `retry_on`. `work` must be safe to run again."""

        def once() -> T:
            with self._borrow(isolation=isolation) as conn, conn.transaction():
                self._local.conn = conn
                try:
                    return work(conn)
                finally:
                    self._local.conn = None

        return self._retried(once, retry_on, attempts)
