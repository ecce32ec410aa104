"""Issue 14, accounts: failed password checks are limited, ended logins end their access tokens,
usernames cannot look alike."""
# ruff: noqa: RUF001  (full-width look-alike letters are what these tests send)

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from argon2 import PasswordHasher
from falcon import testing

from service import auth, migrations, usernames
from service.app import create_app
from service.db import Database
from service.passwords import Passwords

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


def test_a_refused_change_password_attempt_spends_no_password_hash(client, accounts, request):
    token = login(client, "operator").json["access_token"]
    for n in range(6):
        _change(client, token, f"wrong-{n}")
    verified = request.getfixturevalue("verified_passwords")  # counting from here on
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


# --- finding 9: look-alike usernames ------------------------------------------------------------------


def _create(client, headers, username, password="a-good-password-1"):
    return client.simulate_post(
        "/api/users", headers=headers, json={"username": username, "password": password, "role": "OPERATOR"}
    )


@pytest.mark.parametrize(
    "username",
    [
        "admin\u200b",  # zero-width space (Cf)
        "\u202eadmin",  # right-to-left override (bidi control, Cf)
        "ad\u2066min",  # left-to-right isolate (bidi control, Cf)
        "ad\u00admin",  # soft hyphen (Cf)
        "\ufeffadmin",  # byte order mark (Cf)
        "ad\x07min",  # bell (Cc)
        "ad\u2028min",  # line separator (Zl)
        "ad\u2029min",  # paragraph separator (Zp)
    ],
)
def test_a_username_with_a_control_or_format_character_is_400(client, as_admin, username):
    answer = _create(client, as_admin, username)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "VALIDATION_ERROR"
    assert "username" in answer.json["error"]["details"]["fields"]


@pytest.mark.parametrize("username", ["ＡＤＭＩＮ", "ａｄｍｉｎ", "Admin", "admin\u00a0", "\u3000ADMIN"])
def test_a_full_width_or_other_case_look_alike_of_an_existing_username_is_409(client, as_admin, username):
    answer = _create(client, as_admin, username)
    assert answer.status_code == 409
    assert answer.json["error"]["code"] == "DUPLICATE_USERNAME"


def test_usernames_are_compared_after_full_case_folding(client, as_admin):
    assert _create(client, as_admin, "strauss").status_code == 201
    assert _create(client, as_admin, "Strauß").json["error"]["code"] == "DUPLICATE_USERNAME"
    assert _create(client, as_admin, "STRAUẞ").json["error"]["code"] == "DUPLICATE_USERNAME"


def test_a_new_username_is_stored_nfkc_normalised_with_its_case_kept(client, as_admin):
    created = _create(client, as_admin, "Ｍｅｉｅｒ\u00a0")
    assert created.status_code == 201
    assert created.json["username"] == "Meier"


def test_a_username_longer_than_100_characters_once_normalised_is_400(client, as_admin):
    answer = _create(client, as_admin, "\ufdfa" * 10)  # one character, 18 once NFKC-normalised
    assert answer.status_code == 400
    assert "username" in answer.json["error"]["details"]["fields"]


@pytest.mark.parametrize("typed", ["ＡＤＭＩＮ", " Admin\u00a0"])
def test_login_finds_the_account_by_its_folded_username(client, accounts, typed):
    answer = login(client, typed, PASSWORDS["admin"])
    assert answer.status_code == 200
    assert answer.json["user"]["username"] == "admin"


def test_weighin_create_user_refuses_a_look_alike_and_an_invisible_character(database_url, accounts):
    from service.cli import create_user

    assert create_user(database_url, "ａｄｍｉｎ", "a-good-password-1", "OPERATOR") is None
    with pytest.raises(ValueError, match="control or format"):
        create_user(database_url, "admin\u200b", "a-good-password-1", "OPERATOR")


LEGACY_NAMES = [
    "Öztürk",
    "Strauß",
    "ΟΔΥΣΣΕΥΣ",
    "Ὀδυσσεύς",
    "ｍｅｉｅｒ",
    "ǅemal",
    "ﬁona",
    "ÅSA",
    "İlkay",
    "GROẞ",
]


def _legacy_users(empty_database_url, names):
    """Users as the schema before 0009 stored them (lower(username) unique, no key)."""
    migrations.migrate(empty_database_url, upto="0007_draft_list_summary")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        for name in names:
            conn.execute(
                "INSERT INTO users (username, password_hash, role) VALUES (%s, 'x', 'OPERATOR')", (name,)
            )


def test_the_migration_gives_existing_users_the_key_the_service_computes(empty_database_url):
    _legacy_users(empty_database_url, LEGACY_NAMES)
    migrations.migrate(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        keys = dict(conn.execute("SELECT username, username_key FROM users").fetchall())
    assert keys == {name: usernames.key(name) for name in LEGACY_NAMES}


def test_the_migration_stops_with_the_names_when_existing_users_look_alike(empty_database_url):
    _legacy_users(empty_database_url, ["admin", "ａｄｍｉｎ"])
    with pytest.raises(psycopg.errors.RaiseException, match="ａｄｍｉｎ"):
        migrations.migrate(empty_database_url)


def test_a_user_row_inserted_by_hand_without_a_key_gets_the_folded_one(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        key = conn.execute(
            "INSERT INTO users (username, password_hash, role) VALUES ('GROẞ', 'x', 'ADMIN') "
            "RETURNING username_key"
        ).fetchone()[0]
    assert key == usernames.key("GROẞ") == "gross"


# --- finding 8: logout and a password change end access tokens ----------------------------------------


def _me(client, token):
    return client.simulate_get("/api/auth/me", headers=bearer(token))


def test_after_logout_that_logins_access_token_is_refused_on_every_instance_within_5_s(two_instances, clock):
    first, second = two_instances
    ended, kept = login(first, "operator").json, login(first, "operator").json
    assert _me(second, ended["access_token"]).status_code == 200  # the other instance has cached the user
    out = first.simulate_post(
        "/api/auth/logout",
        json={"refresh_token": ended["refresh_token"]},
        headers=bearer(ended["access_token"]),
    )
    assert out.status_code == 200
    assert _me(first, ended["access_token"]).status_code == 401  # where it happened: at once
    clock.advance(auth.CACHE_SECONDS + 0.001)
    refused = _me(second, ended["access_token"])
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "INVALID_TOKEN"
    assert _me(second, kept["access_token"]).status_code == 200  # another login of the same user


def test_logout_without_a_refresh_token_ends_every_login_of_the_caller(client, accounts, clock):
    sessions = [login(client, "operator").json for _ in range(2)]
    out = client.simulate_post("/api/auth/logout", headers=bearer(sessions[0]["access_token"]))
    assert out.status_code == 200
    clock.advance(auth.CACHE_SECONDS + 0.001)
    assert [_me(client, s["access_token"]).status_code for s in sessions] == [401, 401]


def test_change_password_ends_the_other_logins_access_tokens_and_keeps_the_changers(two_instances, clock):
    first, second = two_instances
    mine, other = login(first, "operator").json, login(second, "operator").json
    assert _me(second, other["access_token"]).status_code == 200
    assert _change(first, mine["access_token"], PASSWORDS["operator"]).status_code == 200
    clock.advance(auth.CACHE_SECONDS + 0.001)
    assert _me(second, other["access_token"]).status_code == 401
    assert _me(first, other["access_token"]).status_code == 401
    assert _me(second, mine["access_token"]).status_code == 200
    assert _me(first, mine["access_token"]).status_code == 200


def test_an_admin_password_reset_ends_every_login_of_that_user(client, as_admin, accounts, clock):
    session = login(client, "operator").json
    reset = client.simulate_patch(
        f"/api/users/{accounts['operator']}", headers=as_admin, json={"password": "reset-password-1"}
    )
    assert reset.status_code == 200
    clock.advance(auth.CACHE_SECONDS + 0.001)
    assert _me(client, session["access_token"]).status_code == 401


def test_a_new_login_in_the_same_second_as_a_logout_works(client, accounts, clock):
    old = login(client, "operator").json
    client.simulate_post("/api/auth/logout", headers=bearer(old["access_token"]))
    new = login(client, "operator").json
    clock.advance(auth.CACHE_SECONDS + 0.001)
    assert _me(client, new["access_token"]).status_code == 200
    assert _me(client, old["access_token"]).status_code == 401


def test_a_worker_hashes_one_password_at_a_time_so_its_memory_holds_one_argon2_block():
    running, most = [0], [0]
    guard = threading.Lock()

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            with guard:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.02)  # long enough for the other threads to arrive
            try:
                return super().verify(hash, password)
            finally:
                with guard:
                    running[0] -= 1

    checker = Passwords(Counting(time_cost=1, memory_cost=16, parallelism=1))
    stored = checker.hash("correct horse battery")
    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(lambda p: checker.verify(stored, p), ["correct horse battery", "wrong"] * 4))
    assert verdicts == [True, False] * 4
    assert most[0] == 1
