"""The same POST sent 8 times at once under one Idempotency-Key has one effect, and every sender ends
with the same answer (those that arrive while the first runs get 409 IN_USE and retry with the key)."""

from __future__ import annotations

import threading

import psycopg
import pytest

from ..api import create, line
from ..conftest import PASSWORDS
from .harness import Client, login

pytestmark = pytest.mark.server
SENDERS = 8


def _concurrently(port, token, method, path, body, key):
    answers, barrier = [], threading.Barrier(SENDERS)

    def send():
        client = Client(port, token)
        barrier.wait()
        answers.append(client.send(method, path, body, key=key)[:2])

    threads = [threading.Thread(target=send) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _count(url, statement, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(statement, params).fetchone()[0]


def test_one_group_created_for_eight_identical_keyed_posts(database_url, accounts, stockroom, start_server):
    article, batch = stockroom.paint_batch(stock="10")
    server = start_server(database_url, WEB_CONCURRENCY=2, THREADS=4)
    token = login(server.port, "operator", PASSWORDS["operator"])
    body = {"lines": [line(article, batch, "1"), line(article, batch, "2")]}
    answers = _concurrently(server.port, token, "POST", "/api/draft-groups", body, "create-once")
    assert {status for status, _ in answers} == {201}
    assert all(answer == answers[0][1] for _, answer in answers)
    assert _count(database_url, "SELECT count(*) FROM draft_groups") == 1
    assert _count(database_url, "SELECT count(*) FROM weigh_in_drafts") == 2


def test_one_approval_booked_for_eight_identical_keyed_posts(
    database_url, client, as_admin, accounts, stockroom, start_server
):
    article, batch = stockroom.paint_batch(stock="10", surplus="1")
    group = create(client, as_admin, [line(article, batch, "3")]).json
    server = start_server(database_url, WEB_CONCURRENCY=2, THREADS=4)
    token = login(server.port, "admin", PASSWORDS["admin"])
    answers = _concurrently(
        server.port, token, "POST", f"/api/draft-groups/{group['id']}/approve", {}, "approve-once"
    )
    assert {status for status, _ in answers} == {200}
    assert all(answer == answers[0][1] for _, answer in answers)
    assert stockroom.balances(batch) == ("8.00", "0.00")
    assert (
        _count(database_url, "SELECT count(*) FROM transactions WHERE draft_group_id = %s", (group["id"],))
        == 3
    )
