"""Health follows the database: 503 in the envelope while it refuses connections, 200 once it is back;
during a real outage every request fails fast and the service is back within 2 s of the database."""

from __future__ import annotations

import http.client
import json
import os
import threading
import time

import psycopg

from .conftest import PASSWORDS, admin_execute

# The acceptance of issue 14 names a 60 s outage; 8 s already shows that reconnecting no longer backs off
# (psycopg_pool's doubling delay would have its attempts at 7 s and 15 s, so a database back at 8 s would
# be found 7 s late). WEIGHIN_OUTAGE_SECONDS=60 runs the full one.
OUTAGE_SECONDS = float(os.environ.get("WEIGHIN_OUTAGE_SECONDS", "8"))
CLIENTS = 8


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


def _get(port: int, path: str, token: str | None = None) -> tuple[float, float, int, dict]:
    """(started, finished, status, body) of one request on a new connection."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        reply = conn.getresponse()
        status, body = reply.status, json.loads(reply.read() or b"{}")
    finally:
        conn.close()
    return started, time.monotonic(), status, body


def test_during_an_outage_under_8_clients_every_request_is_503_within_1s_and_health_is_back_within_2s(
    database_url, accounts, local_cluster, start_server
):
    server = start_server(database_url)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    body = json.dumps({"username": "admin", "password": PASSWORDS["admin"]})
    conn.request("POST", "/api/auth/login", body=body, headers={"Content-Type": "application/json"})
    token = json.loads(conn.getresponse().read())["access_token"]
    conn.close()

    answers: list[tuple[float, float, int, dict]] = []
    stop = threading.Event()

    def client(n: int) -> None:
        paths = ["/api/locations", "/health"] if n % 2 else ["/health", "/api/locations"]
        while not stop.is_set():
            for path in paths:
                answers.append(_get(server.port, path, token))
                time.sleep(0.02)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    down = restarting = up = back = None
    try:
        time.sleep(1.0)
        local_cluster.stop(mode="fast")
        down = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
    finally:
        restarting = time.monotonic()  # answers from here on may already be 200s
        local_cluster.start()  # the whole session runs on this cluster
        up = time.monotonic()  # pg_ctl -w returns once the server accepts connections
        try:
            while back is None and time.monotonic() < up + 30:
                if _get(server.port, "/health")[2] == 200:
                    back = time.monotonic()
                time.sleep(0.05)
            time.sleep(1.0)
        finally:
            stop.set()
            for thread in clients:
                thread.join()

    during = [a for a in answers if a[0] >= down and a[1] <= restarting]
    slowest = max(finished - started for started, finished, _, _ in during)
    print(
        f"\noutage of {OUTAGE_SECONDS} s under {CLIENTS} clients: {len(during)} requests during it, slowest "
        f"{slowest:.2f} s; /health 200 again {(back or float('nan')) - up:.2f} s after PostgreSQL accepted"
    )
    assert slowest <= 1.0, f"a request during the outage took {slowest:.2f} s"
    assert len(during) > CLIENTS * OUTAGE_SECONDS, "the clients kept asking during the outage"
    assert {status for _, _, status, _ in during} == {503}
    assert all(body["error"]["code"] == "DATABASE_UNAVAILABLE" for *_, body in during)
    assert back is not None, "/health did not come back within 30 s of PostgreSQL"
    assert back - up <= 2.0, f"/health was back {back - up:.2f} s after PostgreSQL"
    assert all(status != 500 for _, _, status, _ in answers)
    assert [a[2] for a in answers if a[0] >= back + 0.5] and all(
        status == 200 for started, _, status, _ in answers if started >= back + 0.5
    )
