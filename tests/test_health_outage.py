"""Health follows the database: 503 in the envelope while it refuses connections, 200 once it is back."""

from __future__ import annotations

import time

import psycopg

from .conftest import admin_execute


def _database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def _wait_for(client, status: int, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        result = client.simulate_get("/health")
        if result.status_code == status or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_health_is_503_while_the_database_is_unreachable_and_200_when_it_is_back(
    client, database_url, pg_server
):
    assert client.simulate_get("/health").status_code == 200
    name = _database_name(database_url)
    admin_execute(pg_server, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
    try:
        down = _wait_for(client, 503)
        assert down.status_code == 503
        assert down.json["status"] == "unavailable"
        assert down.json["error"]["code"] == "DATABASE_UNAVAILABLE"
        assert down.headers["Retry-After"]
    finally:
        admin_execute(pg_server, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")
    up = _wait_for(client, 200)
    assert up.status_code == 200
    assert up.json["database"] == "ok"
