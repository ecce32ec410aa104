"""Background upkeep in each worker: forgets expired idempotency keys, and the oldest kept keys of a user
who keeps more than 1000, in small batches, so no request ever waits for it; rolls the consumption of
closed days up (service/stock_reads.py), which finds nothing to do but once a day."""

from __future__ import annotations

import logging
import threading

from . import stock_reads
from .db import Database

log = logging.getLogger("weighin.janitor")


class Janitor:
    def __init__(self, db: Database, every_seconds: float = 60.0):
        self.db = db
        self.every = every_seconds
        self._stop = threading.Event()

    def _drain(self, statement: str, batch: int) -> int:
        total = 0
        while True:
            row = self.db.query(statement, {"batch": batch})
            done = next(iter(row.values()))
            total += done
            if done < batch:
                return total

    def purge_idempotency_keys(self, batch: int = 1000) -> int:
        """Forgets keys older than 24 hours; returns how many."""
        return self._drain("purge_idempotency_keys", batch)

    def trim_idempotency_keys(self, batch: int = 1000) -> int:
        """Forgets the oldest keys of every user who keeps more than 1000; returns how many."""
        return self._drain("trim_idempotency_keys", batch)

    def roll_up_consumption(self) -> dict:
        """Adds the days closed since the last round to the consumption rollup."""
        return stock_reads.roll_up_consumption(self.db)

    def start(self) -> None:
        threading.Thread(target=self._loop, name="janitor", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.purge_idempotency_keys()
                self.trim_idempotency_keys()
                self.roll_up_consumption()
            except Exception:  # the next round tries again; requests never depend on this
                log.exception("janitor round failed")
