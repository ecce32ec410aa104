"""Login, tokens, refresh in both rotation modes, logout, change-password, users and the last-admin guard."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from argon2 import PasswordHasher
from falcon import testing

from service import passwords
from service.app import create_app
from service.errors import Unauthorized
from service.tokens import TokenIssuer

from .conftest import PASSWORDS, bearer, fresh_ip, login, make_config


def test_login_returns_tokens_and_the_user(client, accounts):
    result = login(client, "admin")
    assert result.status_code == 200
    body = result.json
    assert body["access_token"] and body["refresh_token"]
    assert body["user"] == {"id": accounts["admin"], "username": "admin", "role": "ADMIN", "is_active": True}
    me = client.simulate_get("/api/auth/me", headers=bearer(body["access_token"]))
    assert me.json["username"] == "admin"


def test_login_username_is_case_insensitive(client, accounts):
    assert login(client, "ADMIN", PASSWORDS["admin"]).status_code == 200


def _deactivate(database_url, username):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET is_active = false WHERE username = %s", (username,))


def test_unknown_user_wrong_password_and_disabled_account_get_the_same_401(client, accounts, database_url):
    _deactivate(database_url, "operator2")
    answers = [
        login(client, "nobody", "whatever-password"),
        login(client, "operator", "wrong-password"),
        login(client, "operator2", PASSWORDS["operator2"]),
    ]
    assert {a.status_code for a in answers} == {401}
    assert len({a.text for a in answers}) == 1
    assert answers[0].json["error"]["code"] == "INVALID_CREDENTIALS"


def test_unknown_user_still_spends_a_password_hash(client, accounts, verified_passwords):
    login(client, "nobody", "whatever-password")
    checked = [stored for stored, _ in verified_passwords]
    assert len(checked) == 1 and checked[0].startswith("$argon2id$")  # the app's dummy hash


def test_production_hashes_with_the_rfc_9106_low_memory_parameters():
    production = passwords.Passwords.for_environment("production")
    assert (production.hasher.time_cost, production.hasher.memory_cost, production.hasher.parallelism) == (
        3,
        65536,
        4,
    )
    stored = production.hash("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert production.verify(stored, "correct horse battery") and not production.verify(stored, "wrong one")
    assert not production.needs_rehash(stored)
    # the test suite's fast parameters are never production's, and a hash made with them is upgraded
    assert production.needs_rehash(passwords.Passwords.for_environment("test").hash("correct horse battery"))


def test_login_upgrades_a_hash_made_with_old_parameters(client, accounts, database_url):
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("legacy-password")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("UPDATE users SET password_hash = %s WHERE username = 'operator'", (weak,))
    assert login(client, "operator", "legacy-password").status_code == 200
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT password_hash FROM users WHERE username = 'operator'").fetchone()[0]
    assert stored != weak and not passwords.Passwords.for_environment("test").needs_rehash(stored)
    assert login(client, "operator", "legacy-password").status_code == 200


def test_missing_invalid_and_expired_access_tokens(client, accounts, config):
    assert client.simulate_get("/api/auth/me").json["error"]["code"] == "MISSING_TOKEN"
    assert (
        client.simulate_get("/api/auth/me", headers=bearer("garbage")).json["error"]["code"]
        == "INVALID_TOKEN"
    )
    forged = TokenIssuer("x" * 48, 15, 7).access_token(accounts["admin"], "ADMIN", "f")
    assert (
        client.simulate_get("/api/auth/me", headers=bearer(forged)).json["error"]["code"] == "INVALID_TOKEN"
    )
    expired = TokenIssuer(config.jwt_secret, 15, 7).access_token(accounts["admin"], "ADMIN", "f", lifetime=-5)
    result = client.simulate_get("/api/auth/me", headers=bearer(expired))
    assert result.status_code == 401
    assert result.json["error"]["code"] == "TOKEN_EXPIRED"


def test_a_verified_token_is_refused_once_it_expires(monkeypatch):
    issuer = TokenIssuer("s" * 48, 15, 7)
    token = issuer.access_token(7, "ADMIN", "f", lifetime=60)
    assert issuer.decode_access(token)["sub"] == "7"
    assert token in issuer._verified  # later requests with it skip the signature check
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(Unauthorized) as refused:
        issuer.decode_access(token)
    assert refused.value.code == "TOKEN_EXPIRED"


def _refresh(client, token):
    return client.simulate_post("/api/auth/refresh", json={}, headers=bearer(token))


def test_refresh_by_default_keeps_the_presented_token_valid(client, accounts):
    first = login(client, "operator").json["refresh_token"]
    one = _refresh(client, first)
    two = _refresh(client, first)
    assert one.status_code == two.status_code == 200
    assert one.json["refresh_token"] != first
    assert _refresh(client, one.json["refresh_token"]).status_code == 200
    me = client.simulate_get("/api/auth/me", headers=bearer(two.json["access_token"]))
    assert me.json["username"] == "operator"


def test_refresh_in_strict_mode_is_single_use_and_a_reuse_revokes_the_family(database_url, db, accounts):
    client = testing.TestClient(create_app(make_config(database_url, REFRESH_TOKEN_ROTATION="strict"), db))
    first = login(client, "operator").json["refresh_token"]
    second = _refresh(client, first)
    assert second.status_code == 200
    reused = _refresh(client, first)
    assert reused.status_code == 401
    assert reused.json["error"]["code"] == "INVALID_TOKEN"
    # the whole family is revoked, including the token the legitimate refresh produced
    assert _refresh(client, second.json["refresh_token"]).status_code == 401


def test_refresh_refuses_an_access_token_and_garbage(client, tokens):
    assert _refresh(client, tokens["operator"]).status_code == 401
    assert _refresh(client, "nonsense").status_code == 401
    assert client.simulate_post("/api/auth/refresh", json={}).json["error"]["code"] == "MISSING_TOKEN"


def test_logout_revokes_the_refresh_token(client, accounts):
    session = login(client, "operator").json
    out = client.simulate_post(
        "/api/auth/logout",
        json={"refresh_token": session["refresh_token"]},
        headers=bearer(session["access_token"]),
    )
    assert out.status_code == 200 and out.json["revoked"] == 1
    assert _refresh(client, session["refresh_token"]).status_code == 401


def test_change_password_revokes_other_refresh_tokens_but_not_the_callers(client, accounts):
    mine = login(client, "operator").json
    other = login(client, "operator").json
    changed = client.simulate_post(
        "/api/auth/change-password",
        headers=bearer(mine["access_token"]),
        json={"current_password": PASSWORDS["operator"], "new_password": "brand-new-pass"},
    )
    assert changed.status_code == 200
    assert _refresh(client, other["refresh_token"]).status_code == 401
    assert _refresh(client, mine["refresh_token"]).status_code == 200
    assert login(client, "operator", PASSWORDS["operator"]).status_code == 401
    assert login(client, "operator", "brand-new-pass").status_code == 200


def test_change_password_checks_the_current_password_and_the_new_ones_length(client, as_operator):
    wrong = client.simulate_post(
        "/api/auth/change-password",
        headers=as_operator,
        json={"current_password": "nope", "new_password": "brand-new-pass"},
    )
    assert wrong.status_code == 400 and "current_password" in wrong.json["error"]["details"]["fields"]
    short = client.simulate_post(
        "/api/auth/change-password",
        headers=as_operator,
        json={"current_password": PASSWORDS["operator"], "new_password": "short"},
    )
    assert short.status_code == 400 and "new_password" in short.json["error"]["details"]["fields"]


def test_admin_lists_and_creates_users(client, as_admin):
    created = client.simulate_post(
        "/api/users",
        headers=as_admin,
        json={"username": "painter7", "password": "painter-pass", "role": "OPERATOR"},
    )
    assert created.status_code == 201 and created.json["role"] == "OPERATOR"
    dup = client.simulate_post(
        "/api/users",
        headers=as_admin,
        json={"username": "PAINTER7", "password": "painter-pass", "role": "OPERATOR"},
    )
    assert dup.status_code == 409 and dup.json["error"]["code"] == "DUPLICATE_USERNAME"
    listing = client.simulate_get("/api/users", headers=as_admin, params={"limit": 2})
    assert listing.json["total"] == 4
    assert len(listing.json["items"]) == 2 and listing.json["next_cursor"]
    rest = client.simulate_get("/api/users", headers=as_admin, params={"cursor": listing.json["next_cursor"]})
    assert [u["username"] for u in rest.json["items"]] == ["operator2", "painter7"]
    assert rest.json["next_cursor"] is None


def test_user_create_validation_lists_every_bad_field(client, as_admin):
    result = client.simulate_post(
        "/api/users", headers=as_admin, json={"username": "", "role": "KING", "x": 1}
    )
    fields = result.json["error"]["details"]["fields"]
    assert result.status_code == 400
    assert set(fields) == {"username", "password", "role", "x"}


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(client, as_admin, accounts):
    admin_id = accounts["admin"]
    for change in ({"role": "OPERATOR"}, {"is_active": False}):
        result = client.simulate_patch(f"/api/users/{admin_id}", headers=as_admin, json=change)
        assert result.status_code == 409 and result.json["error"]["code"] == "LAST_ADMIN"
    promoted = client.simulate_patch(
        f"/api/users/{accounts['operator']}", headers=as_admin, json={"role": "ADMIN"}
    )
    assert promoted.status_code == 200
    assert (
        client.simulate_patch(
            f"/api/users/{admin_id}", headers=as_admin, json={"role": "OPERATOR"}
        ).status_code
        == 200
    )


def test_two_admins_demoting_each_other_at_once_leave_one_admin(database_url, db, accounts):
    client = testing.TestClient(create_app(make_config(database_url), db))
    admin_tokens = {}
    for name in ("admin", "operator"):
        if name != "admin":
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute("UPDATE users SET role = 'ADMIN' WHERE username = %s", (name,))
        admin_tokens[name] = login(client, name).json["access_token"]
    results = []
    barrier = threading.Barrier(2)

    def demote(actor, target):
        barrier.wait()
        results.append(
            client.simulate_patch(
                f"/api/users/{accounts[target]}",
                headers=bearer(admin_tokens[actor]),
                json={"role": "OPERATOR"},
            ).status_code
        )

    threads = [
        threading.Thread(target=demote, args=("admin", "operator")),
        threading.Thread(target=demote, args=("operator", "admin")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with psycopg.connect(database_url) as conn:
        admins = conn.execute("SELECT count(*) FROM users WHERE role = 'ADMIN' AND is_active").fetchone()[0]
    assert admins >= 1
    assert sorted(results) in ([200, 409], [200, 401], [200, 403])


def test_unknown_user_id_is_404(client, as_admin):
    result = client.simulate_patch("/api/users/999999", headers=as_admin, json={"is_active": False})
    assert result.status_code == 404 and result.json["error"]["code"] == "USER_NOT_FOUND"


def test_deactivation_revokes_the_users_refresh_tokens(client, as_admin, accounts):
    session = login(client, "operator").json
    client.simulate_patch(f"/api/users/{accounts['operator']}", headers=as_admin, json={"is_active": False})
    assert _refresh(client, session["refresh_token"]).status_code == 401


@pytest.mark.parametrize("username", ["nobody"])
def test_login_body_is_validated(client, username):
    result = client.simulate_post("/api/auth/login", json={"username": username}, remote_addr=fresh_ip())
    assert result.status_code == 400
    assert result.json["error"]["details"]["fields"] == {"password": "is required"}
