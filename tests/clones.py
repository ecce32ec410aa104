"""Test databases cloned from a migrated template ahead of need.

CREATE DATABASE ... TEMPLATE copies the template's files (about 0.2 s); a test that waited for its own
clone would spend most of its time there. A background thread keeps AHEAD clones of each template
ready while the tests run, and drops used databases after them.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
import time

import psycopg

AHEAD = 2
_names = itertools.count()


class Clones:
    def __init__(self, server_url: str, ahead: int = AHEAD):
        self.server_url = server_url
        self.ahead = ahead
        self._ready: dict[str | None, queue.Queue] = {}
        self._work: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="clones", daemon=True)
        self._thread.start()

    def take(self, template: str | None) -> str:
        """A fresh database cloned from `template` (None: an empty one); its name."""
        ready = self._ready.get(template)
        if ready is None:
            ready = self._ready[template] = queue.Queue()
            for _ in range(self.ahead if template else 0):
                self._work.put(("create", template))
        self._work.put(("create", template))  # the replacement of the one taken now
        name = ready.get(timeout=120)
        if isinstance(name, Exception):
            raise name
        return name

    def give_back(self, name: str) -> None:
        self._work.put(("drop", name))

    def close(self) -> None:
        self._work.put(("stop", None))
        self._thread.join(60)

    def _run(self) -> None:
        conn = None
        while True:
            op, arg = self._work.get()
            if op == "stop":
                break
            for attempt in range(300):  # the fault tests stop the server for a while
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.server_url, autocommit=True)
                    self._do(conn, op, arg)
                    break
                except psycopg.OperationalError as error:
                    conn = None
                    if attempt == 299:
                        self._fail(op, arg, error)
                    time.sleep(0.1)
                except psycopg.Error as error:
                    self._fail(op, arg, error)
                    break
        if conn is not None:
            for ready in self._ready.values():
                while not ready.empty():
                    name = ready.get()
                    if isinstance(name, str):
                        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.close()

    def _do(self, conn: psycopg.Connection, op: str, arg: str | None) -> None:
        if op == "drop":
            conn.execute(f"DROP DATABASE IF EXISTS {arg} WITH (FORCE)")
            return
        name = f"weighin_test_{os.getpid()}_{next(_names)}"
        clause = f" TEMPLATE {arg} STRATEGY FILE_COPY" if arg else ""
        conn.execute(f"CREATE DATABASE {name}{clause}")
        self._ready[arg].put(name)

    def _fail(self, op: str, arg: str | None, error: Exception) -> None:
        if op == "create":
            self._ready[arg].put(error)
