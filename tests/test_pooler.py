"""DATABASE_POOLER: the setting, and the service's traffic really passing a real PgBouncer in transaction
mode (the idempotency, rate-limit and approval-concurrency tests run through it too: `through_pgbouncer`)."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest

from service.config import ConfigError

from .conftest import make_config


def test_an_unknown_pooler_stops_the_service_at_start(database_url):
    with pytest.raises(ConfigError, match="DATABASE_POOLER must be one of none, pgbouncer"):
        make_config(database_url, DATABASE_POOLER="pgpool")


def _transactions_through(pgbouncer, database: str) -> int:
    admin = f"postgresql://postgres@127.0.0.1:{pgbouncer.port}/pgbouncer"
    with psycopg.connect(admin, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        stats = conn.execute("SHOW STATS")
        names = [column.name for column in stats.description]
        rows = [dict(zip(names, row, strict=True)) for row in stats]
    return sum(row["total_xact_count"] for row in rows if row["database"] == database)


@pytest.mark.parametrize("pooler", ["pgbouncer"], indirect=True)
def test_through_pgbouncer_repeated_statements_and_a_serializable_keyed_write_pass_the_pooler(
    client, as_admin, pgbouncer, database_url
):
    database = urlsplit(database_url).path.lstrip("/")
    before = _transactions_through(pgbouncer, database)
    # psycopg prepares a statement its connection has run five times; a prepared statement lives on one
    # server connection, and PgBouncer links the next transaction to whichever server connection is free
    for _ in range(30):
        assert client.simulate_get("/api/draft-groups", headers=as_admin).status_code == 200
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT 1")  # an open transaction holds the server connection used last
        for _ in range(10):
            assert client.simulate_get("/api/draft-groups", headers=as_admin).status_code == 200
    keyed = {**as_admin, "Idempotency-Key": "pooled-1"}  # one SERIALIZABLE unit of work
    created = client.simulate_post("/api/locations", headers=keyed, json={"code": "77", "name": "Annex"})
    assert created.status_code == 201, created.text
    assert _transactions_through(pgbouncer, database) >= before + 41
