"""The login rate limit: 6 attempts a minute per client IP, shared by every worker process."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from falcon import testing

from service.app import create_app

from .conftest import make_config

pytestmark = pytest.mark.through_pgbouncer


def _attempt(client, ip="203.0.113.7", headers=None):
    return client.simulate_post(
        "/api/auth/login",
        json={"username": "nobody", "password": "wrong-password"},
        remote_addr=ip,
        headers=headers or {},
    )


def test_the_seventh_attempt_in_a_minute_is_429_with_retry_after(client, accounts):
    statuses = [_attempt(client).status_code for _ in range(6)]
    assert statuses == [401] * 6
    seventh = _attempt(client)
    assert seventh.status_code == 429
    assert seventh.json["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    retry_after = int(seventh.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert seventh.json["error"]["details"]["retry_after"] == retry_after


def test_successful_logins_count_too(client, accounts):
    good = {"username": "admin", "password": "admin-password-1"}
    statuses = [
        client.simulate_post("/api/auth/login", json=good, remote_addr="203.0.113.9").status_code
        for _ in range(7)
    ]
    assert statuses == [200] * 6 + [429]


def test_another_client_ip_is_unaffected(client, accounts):
    for _ in range(7):
        _attempt(client, ip="203.0.113.7")
    assert _attempt(client, ip="203.0.113.8").status_code == 401


def test_a_forged_forwarded_for_does_not_escape_the_limit_without_trusted_proxies(client, accounts):
    statuses = [_attempt(client, headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(7)]
    assert statuses[-1] == 429


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(database_url, db, accounts):
    client = testing.TestClient(create_app(make_config(database_url, TRUSTED_PROXIES="10.0.0.0/8"), db))
    proxy = "10.1.2.3"
    for _ in range(6):
        _attempt(client, ip=proxy, headers={"X-Forwarded-For": "192.0.2.50, 10.9.9.9"})
    assert _attempt(client, ip=proxy, headers={"X-Forwarded-For": "192.0.2.50"}).status_code == 429
    # another client behind the same proxy has its own counter; a spoofed left-most entry is ignored
    assert (
        _attempt(client, ip=proxy, headers={"X-Forwarded-For": "192.0.2.50, 192.0.2.51"}).status_code == 401
    )


def test_health_is_never_limited(client):
    assert {client.simulate_get("/health").status_code for _ in range(20)} == {200}


def test_memory_storage_can_be_selected(database_url, db, accounts):
    client = testing.TestClient(create_app(make_config(database_url, RATE_LIMIT_STORAGE_URI="memory://"), db))
    assert [_attempt(client).status_code for _ in range(7)][-1] == 429


@pytest.mark.server
def test_the_limit_holds_across_four_gunicorn_workers(database_url, accounts, start_server):
    server = start_server(database_url, WEB_CONCURRENCY=4, THREADS=1)
    statuses = []
    for _ in range(7):
        request = urllib.request.Request(
            server.base + "/api/auth/login",
            method="POST",
            data=json.dumps({"username": "nobody", "password": "x"}).encode(),
            headers={"Content-Type": "application/json", "Connection": "close"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                statuses.append(reply.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            if error.code == 429:
                assert int(error.headers["Retry-After"]) >= 1
    assert statuses == [401] * 6 + [429]
