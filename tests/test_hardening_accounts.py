"""Issue 14, accounts: failed password checks are limited on every route that checks a password."""

from __future__ import annotations

import pytest
from falcon import testing

from service import passwords
from service.app import create_app
from service.db import Database

from .conftest import PASSWORDS, bearer, fresh_ip, login, make_config

# --- finding 3: change-password is not an unlimited password oracle --------------------------------


def _change(client, token, current, new="brand-new-pass-1", ip=None):
    return client.simulate_post(
        "/api/auth/change-password",
        headers=bearer(token),
        json={"current_password": current, "new_password": new},
        remote_addr=ip or fresh_ip(),
    )


def test_six_wrong_current_passwords_make_the_seventh_change_password_429_even_with_the_right_one(
    client, accounts
):
    token = login(client, "operator").json["access_token"]
    # each guess from another address: the user's own count trips, not the per-IP one
    assert [_change(client, token, f"wrong-{n}").status_code for n in range(6)] == [400] * 6
    seventh = _change(client, token, PASSWORDS["operator"])
    assert seventh.status_code == 429
    assert seventh.json["error"]["code"] == "RATE_LIMIT_EXCEEDED"
    retry_after = int(seventh.headers["Retry-After"])
    assert 1 <= retry_after <= 15 * 60
    assert seventh.json["error"]["details"]["retry_after"] == retry_after
    assert login(client, "operator").status_code == 200  # the password did not change


def test_a_refused_change_password_attempt_spends_no_password_hash(client, accounts, monkeypatch):
    token = login(client, "operator").json["access_token"]
    for n in range(6):
        _change(client, token, f"wrong-{n}")
    verified = []
    real = passwords.HASHER

    class CountingHasher:
        def verify(self, stored, password):
            verified.append(password)
            return real.verify(stored, password)

        def hash(self, password):
            return real.hash(password)

    monkeypatch.setattr(passwords, "HASHER", CountingHasher())
    assert _change(client, token, PASSWORDS["operator"]).status_code == 429
    assert verified == []


def test_one_users_failed_password_checks_leave_another_user_unaffected(client, accounts):
    mine = login(client, "operator").json["access_token"]
    for n in range(7):
        _change(client, mine, f"wrong-{n}")
    theirs = login(client, "operator2").json["access_token"]
    assert _change(client, theirs, "wrong-0").status_code == 400
    assert _change(client, theirs, PASSWORDS["operator2"]).status_code == 200


def test_one_client_address_guessing_at_several_accounts_is_limited(client, accounts):
    ip = "203.0.113.40"
    for name in ("operator", "operator2"):
        token = login(client, name).json["access_token"]
        assert [_change(client, token, f"wrong-{n}", ip=ip).status_code for n in range(3)] == [400] * 3
    admin = login(client, "admin").json["access_token"]
    assert _change(client, admin, PASSWORDS["admin"], ip=ip).status_code == 429
    assert _change(client, admin, PASSWORDS["admin"], ip="203.0.113.41").status_code == 200


def test_only_failed_password_checks_count(client, accounts):
    token = login(client, "operator").json["access_token"]
    ip = "203.0.113.42"
    current = PASSWORDS["operator"]
    for n in range(8):
        new = f"changed-password-{n}"
        assert _change(client, token, current, new, ip=ip).status_code == 200
        current = new


@pytest.fixture
def two_instances(database_url, accounts):
    """Two app instances (as two gunicorn workers or hosts would be) on the same database."""
    pools = [Database(database_url, pool_size=2, statement_timeout_ms=10_000) for _ in range(2)]
    for pool in pools:
        pool.open(wait=True)
    yield [testing.TestClient(create_app(make_config(database_url), pool)) for pool in pools]
    for pool in pools:
        pool.close()


def test_the_failed_password_count_is_shared_by_two_app_instances(two_instances):
    first, second = two_instances
    token = login(first, "operator").json["access_token"]
    for n in range(3):
        assert _change(first, token, f"wrong-{n}").status_code == 400
        assert _change(second, token, f"wrong-{n}").status_code == 400
    assert _change(first, token, PASSWORDS["operator"]).status_code == 429
    assert _change(second, token, PASSWORDS["operator"]).status_code == 429
