"""Idempotency-Key on POST and PATCH: kept answers, replays, reuse, in-use, expiry, crash safety."""

from __future__ import annotations

import psycopg
import pytest

from service import draft_groups
from service.app import route_catalog
from service.auth import UserCache
from service.janitor import Janitor
from service.tokens import TokenIssuer

from .api import line
from .conftest import bearer

pytestmark = pytest.mark.through_pgbouncer


def keyed(key):
    return {"Idempotency-Key": key}


def post_group(client, headers, lines, key):
    return client.simulate_post("/api/draft-groups", headers={**headers, **keyed(key)}, json={"lines": lines})


def _count(url, table):
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_repeat_gets_the_kept_answer_and_changes_nothing(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    lines = [line(article, batch, "1")]
    first = post_group(client, as_admin, lines, "k-1")
    before = stockroom.snapshot()
    again = post_group(client, as_admin, lines, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert stockroom.snapshot() == before


def test_the_same_key_with_another_request_is_422(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    post_group(client, as_admin, [line(article, batch, "1")], "k-2")
    other = post_group(client, as_admin, [line(article, batch, "2")], "k-2")
    assert other.status_code == 422 and other.json["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_keys_belong_to_their_user(client, as_admin, tokens, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    post_group(client, as_admin, [line(article, batch, "1")], "shared")
    theirs = post_group(client, bearer(tokens["operator"]), [line(article, batch, "1")], "shared")
    assert theirs.status_code == 201


def test_a_repeated_approval_replays_its_200_instead_of_group_not_draft(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = client.simulate_post(
        "/api/draft-groups", headers=as_admin, json={"lines": [line(article, batch, "4")]}
    ).json
    path = f"/api/draft-groups/{group['id']}/approve"
    first = client.simulate_post(path, headers={**as_admin, **keyed("approve-1")})
    again = client.simulate_post(path, headers={**as_admin, **keyed("approve-1")})
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    assert stockroom.balances(batch) == ("6.00", "0.00")
    unkeyed = client.simulate_post(path, headers=as_admin)
    assert unkeyed.status_code == 409


def test_an_error_answer_is_kept_too(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="1")
    group = client.simulate_post(
        "/api/draft-groups", headers=as_admin, json={"lines": [line(article, batch, "4")]}
    ).json
    path = f"/api/draft-groups/{group['id']}/approve"
    first = client.simulate_post(path, headers={**as_admin, **keyed("short-1")})
    assert first.status_code == 409 and first.json["error"]["code"] == "INSUFFICIENT_STOCK"
    stockroom.book(stockroom.location(), article, batch, stock="10")
    again = client.simulate_post(path, headers={**as_admin, **keyed("short-1")})
    assert again.status_code == 409 and again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_repeat_while_the_first_is_running_is_409_in_use(
    client, as_admin, accounts, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="10")
    with psycopg.connect(database_url) as holder:
        # the first request's transaction holds this lock until it commits
        holder.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{accounts['admin']}:busy-1",)
        )
        result = post_group(client, as_admin, [line(article, batch, "1")], "busy-1")
    assert result.status_code == 409 and result.json["error"]["code"] == "IDEMPOTENCY_KEY_IN_USE"


def test_a_crash_after_the_work_leaves_neither_claim_nor_work(
    client, as_admin, stockroom, database_url, monkeypatch
):
    article, batch = stockroom.paint_batch(stock="10")
    lines = [line(article, batch, "1")]

    def crash(rows):
        raise RuntimeError("worker died after the statement ran")

    monkeypatch.setattr(draft_groups, "group_body", crash)
    assert post_group(client, as_admin, lines, "crash-1").status_code == 500
    monkeypatch.undo()
    assert _count(database_url, "idempotency_keys") == 0
    assert _count(database_url, "draft_groups") == 0
    assert post_group(client, as_admin, lines, "crash-1").status_code == 201


def test_patch_accepts_a_key(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = client.simulate_post(
        "/api/draft-groups", headers=as_admin, json={"lines": [line(article, batch, "1")]}
    ).json
    path = f"/api/draft-groups/{group['id']}"
    first = client.simulate_patch(path, headers={**as_admin, **keyed("rename-1")}, json={"name": "A"})
    again = client.simulate_patch(path, headers={**as_admin, **keyed("rename-1")}, json={"name": "A"})
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json and first.json["name"] == "A"
    with psycopg.connect(stockroom.url) as conn:  # renamed once: one audit row, not two
        renames = conn.execute(
            "SELECT old_value->>'name', new_value->>'name' FROM approval_actions "
            "WHERE action = 'RENAME' AND draft_group_id = %s",
            (group["id"],),
        ).fetchall()
    assert renames == [(group["name"], "A")]


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_400(client, as_admin, stockroom, key):
    article, batch = stockroom.paint_batch(stock="10")
    result = post_group(client, as_admin, [line(article, batch, "1")], key)
    assert result.status_code == 400 and "Idempotency-Key" in result.json["error"]["details"]["fields"]


def test_keys_expire_after_24_hours_and_the_janitor_forgets_them(
    client, as_admin, stockroom, db, database_url
):
    article, batch = stockroom.paint_batch(stock="10")
    post_group(client, as_admin, [line(article, batch, "1")], "old-1")
    post_group(client, as_admin, [line(article, batch, "1")], "new-1")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-1'"
        )
    reused = post_group(client, as_admin, [line(article, batch, "2")], "old-1")
    assert reused.status_code == 201  # the expired key no longer binds
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-1'"
        )
    assert Janitor(db).purge_idempotency_keys(batch=1) == 1
    with psycopg.connect(database_url) as conn:
        assert [r[0] for r in conn.execute("SELECT key FROM idempotency_keys")] == ["new-1"]


def test_every_write_responder_says_how_it_takes_an_idempotency_key(config, db):
    tokens = TokenIssuer(config.jwt_secret, 15, 7)
    decided = {}
    for route in route_catalog(config, db, tokens, UserCache(db, tokens.access_seconds)):
        for method in ("post", "put", "patch", "delete"):
            responder = getattr(
                route.resource, f"on_{method}" + (f"_{route.suffix}" if route.suffix else ""), None
            )
            if responder is None:
                continue
            assert isinstance(getattr(responder, "keyed", None), bool), f"{method} {route.path} says nothing"
            if not responder.keyed:
                assert responder.not_keyed_because, f"{method} {route.path} gives no reason"
            decided[(method, route.path)] = responder.keyed
    assert decided[("post", "/api/draft-groups/{id:id}/approve")] is True
    assert decided[("post", "/api/auth/login")] is False
    assert len(decided) >= 25
