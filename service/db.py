"""Connections and transactions: the per-worker pool, `transaction()`, the SERIALIZABLE retry loop,
and the named statements loaded from `sql/*.sql`. No other module opens connections or catches
serialization failures."""

from __future__ import annotations

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

import orjson
import psycopg
from psycopg import IsolationLevel
from psycopg.adapt import Loader
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from .config import PROJECT_ROOT
from .errors import Busy

log = logging.getLogger("weighin.db")
T = TypeVar("T")

SQL_DIR = PROJECT_ROOT / "sql"
IDLE_CHECK_SECONDS = 1.0
RETRYABLE = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)
_NAME = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


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
    """numeric → an orjson Fragment of PostgreSQL's own digits: the value enters a JSON answer as the
    number it is, without a Decimal built and formatted back (and never a float)."""

    def load(self, data) -> orjson.Fragment:
        return orjson.Fragment(bytes(data))


class Database:
    """Owns one worker's pool. Connections run in autocommit; `transaction()` and `run()` open explicit
    transactions. Inside `pinned()` every helper uses that one connection and its open transaction, so a
    whole request (an Idempotency-Key claim, the work and the kept answer) commits or rolls back as one."""

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
        self._serializable_setup = Statements()["prefer_index_scans"]
        options = (
            f"-c TimeZone=UTC -c statement_timeout={statement_timeout_ms} "
            f"-c idle_in_transaction_session_timeout={statement_timeout_ms * 3}"
        )
        self._returned: weakref.WeakKeyDictionary[psycopg.Connection, float] = weakref.WeakKeyDictionary()
        self.pool = ConnectionPool(
            url,
            min_size=pool_size,
            max_size=pool_size,
            open=False,
            name=name,
            timeout=10.0,
            kwargs={"autocommit": True, "row_factory": dict_row, "options": options},
            check=self._check,
        )

    def _check(self, conn: psycopg.Connection) -> None:
        """Ping a connection that sat idle, so one broken by a database restart is replaced before a request
        uses it; connections in steady use skip the round trip."""
        if time.monotonic() - self._returned.get(conn, 0.0) > IDLE_CHECK_SECONDS:
            ConnectionPool.check_connection(conn)

    @contextmanager
    def _borrow(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        """A pool connection, stamped with the time it goes back. (Not the pool's `reset` hook: with one,
        psycopg_pool hands every returned connection to its worker thread, which costs each request
        two thread switches.)"""
        with self.pool.connection(timeout=timeout) as conn:
            try:
                yield conn
            finally:
                self._returned[conn] = time.monotonic()

    def open(self, wait: bool = False) -> None:
        self.pool.open(wait=wait)

    def close(self) -> None:
        self.pool.close()

    def _pinned(self) -> psycopg.Connection | None:
        return getattr(self._local, "conn", None)

    def take_retries(self) -> int:
        """Retries this thread spent since the last call (for the access log)."""
        spent, self._local.retries = getattr(self._local, "retries", 0), 0
        return spent

    def _backoff(self, attempt: int, attempts: int, error: Exception) -> None:
        if attempt == attempts:
            log.warning("giving up after %d attempts: %s", attempt, getattr(error, "sqlstate", error))
            raise Busy() from error
        self._local.retries = getattr(self._local, "retries", 0) + 1
        # full jitter, growing from 4 ms towards 500 ms
        time.sleep(random.uniform(0, min(0.5, 0.002 * 2**attempt)))

    @contextmanager
    def connection(self, timeout: float | None = None) -> Iterator[psycopg.Connection]:
        pinned = self._pinned()
        if pinned is not None:
            yield pinned
            return
        with self._borrow(timeout) as conn:
            yield conn

    def one(self, statement: str, params: dict | None = None) -> dict | None:
        """One autocommit statement; its first row."""
        with self.connection() as conn:
            return conn.execute(statement, params).fetchone()

    def all(self, statement: str, params: dict | None = None) -> list[dict]:
        """One autocommit statement; all its rows."""
        with self.connection() as conn:
            return conn.execute(statement, params).fetchall()

    def answer_rows(self, statement: str, params: dict | None = None) -> list[dict]:
        """One autocommit statement whose rows go into a JSON answer as they are: numerics arrive as
        NumericAsJson fragments (no arithmetic on them in Python)."""
        with self.connection() as conn:
            cursor = conn.cursor()
            cursor.adapters.register_loader("numeric", NumericAsJson)
            return cursor.execute(statement, params).fetchall()

    @contextmanager
    def transaction(self, isolation: IsolationLevel | None = None) -> Iterator[psycopg.Connection]:
        """One READ COMMITTED (or given isolation) transaction; commits on success, rolls back on error."""
        pinned = self._pinned()
        if pinned is not None:
            with pinned.transaction():  # a savepoint inside the pinned transaction
                yield pinned
            return
        with self._borrow() as conn:
            conn.isolation_level = isolation
            with conn.transaction():
                yield conn

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
        attempts = attempts or self.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                with self._borrow() as conn:
                    conn.isolation_level = isolation
                    with conn.pipeline(), conn.transaction():
                        if isolation == IsolationLevel.SERIALIZABLE:
                            conn.execute(self._serializable_setup)
                        read = work(conn)
                    return read()
            except retry_on as error:
                self._backoff(attempt, attempts, error)
        raise AssertionError("unreachable")

    def serializable(
        self, work: Callable[[psycopg.Connection], Callable[[], T]], *, attempts: int | None = None
    ) -> T:
        """`run` at SERIALIZABLE, retrying serialization failures (40001) and deadlocks (40P01)."""
        return self.run(work, attempts=attempts)

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
        attempts = attempts or self.max_attempts
        for attempt in range(1, attempts + 1):
            try:
                with self._borrow() as conn:
                    conn.isolation_level = isolation
                    with conn.transaction():
                        if isolation == IsolationLevel.SERIALIZABLE:
                            conn.execute(self._serializable_setup)
                        self._local.conn = conn
                        try:
                            return work(conn)
                        finally:
                            self._local.conn = None
            except retry_on as error:
                self._backoff(attempt, attempts, error)
        raise AssertionError("unreachable")
