"""Schema migrations with yoyo: apply, roll back, report. Run once from the CLI, never per worker."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from yoyo import get_backend, read_migrations

from .config import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


@contextmanager
def _backend(database_url: str) -> Iterator:
    """A yoyo backend whose connection is closed afterwards (a template database must be left idle)."""
    rest = database_url.split("://", 1)[1]
    backend = get_backend(f"postgresql+psycopg://{rest}")
    try:
        yield backend
    finally:
        backend.connection.close()


def migrate(database_url: str, upto: str | None = None) -> list[str]:
    """Apply every pending migration (or those up to and including `upto`); returns their ids."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _backend(database_url) as backend, backend.lock():
        pending = backend.to_apply(migrations)
        if upto is not None:
            ids = [m.id for m in pending]
            pending = pending[: ids.index(upto) + 1] if upto in ids else pending[:0]
        backend.apply_migrations(pending)
    return [m.id for m in pending]


def rollback(database_url: str, count: int) -> list[str]:
    """Roll back the newest `count` applied migrations; returns their ids."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _backend(database_url) as backend, backend.lock():
        chosen = backend.to_rollback(migrations)[:count]
        backend.rollback_migrations(chosen)
    return [m.id for m in chosen]


def status(database_url: str) -> tuple[list[str], list[str]]:
    """(applied, pending) migration ids, in order."""
    migrations = read_migrations(str(MIGRATIONS_DIR))
    with _backend(database_url) as backend:
        pending = {m.id for m in backend.to_apply(migrations)}
    ids = [m.id for m in migrations]
    return [i for i in ids if i not in pending], [i for i in ids if i in pending]


def migration_files() -> list[str]:
    return sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql") if not p.stem.endswith(".rollback"))
