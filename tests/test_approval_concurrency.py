"""Concurrent approvals against the real server (gunicorn, several workers): no oversell, no half-approved
group, conservation per batch, balance = ledger sum, and one winner when eight clients approve one group."""

from __future__ import annotations

import http.client
import json
import random
import threading
from collections import Counter, defaultdict
from decimal import Decimal

import psycopg
import pytest

from .api import create, line
from .conftest import PASSWORDS

pytestmark = [pytest.mark.server, pytest.mark.through_pgbouncer]
CLIENTS = 8


class Http:
    def __init__(self, port: int, token: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def post(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.conn.request("POST", path, body=json.dumps(body or {}), headers=headers)
        reply = self.conn.getresponse()
        return reply.status, json.loads(reply.read() or b"{}")


def _run_clients(work_per_client):
    results, threads = [], []
    barrier = threading.Barrier(len(work_per_client))

    def client(work):
        barrier.wait()
        for item in work():
            results.append(item)

    for work in work_per_client:
        threads.append(threading.Thread(target=client, args=(work,)))
        threads[-1].start()
    for thread in threads:
        thread.join()
    return results


def _balances(url):
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT b.id, coalesce(st.quantity_kg, 0), coalesce(sp.quantity_kg, 0) FROM batches b "
            "LEFT JOIN stock st ON st.batch_id = b.id LEFT JOIN surplus sp ON sp.batch_id = b.id"
        )
        return {r[0]: (r[1], r[2]) for r in rows}


def random_groups(client, headers, rng, keys, count) -> dict[int, dict]:
    """`count` DRAFT groups of 1-3 lines of 1-6 kg on (article, batch) keys drawn by `rng`, by id."""
    groups = {}
    for _ in range(count):
        lines = [line(*rng.choice(keys), str(rng.randint(1, 6))) for _ in range(rng.randint(1, 3))]
        group = create(client, headers, lines).json
        groups[group["id"]] = group
    return groups


def admin_server(database_url, start_server):
    """A real server (4 workers of 2 threads) and an admin's access token for it."""
    server = start_server(database_url, WEB_CONCURRENCY=4, THREADS=2)
    answer = Http(server.port).post("/api/auth/login", {"username": "admin", "password": PASSWORDS["admin"]})
    return server, answer[1]["access_token"]


def test_concurrent_approvals_never_oversell_and_conserve_every_batch(
    database_url, client, as_admin, accounts, stockroom, start_server
):
    rng = random.Random(7)
    keys = [stockroom.paint_batch(stock="20", surplus="3") for _ in range(3)]
    groups = random_groups(client, as_admin, rng, keys, 32)
    initial = _balances(database_url)
    server, token = admin_server(database_url, start_server)
    ids = list(groups)
    rng.shuffle(ids)
    shares = [ids[n::CLIENTS] for n in range(CLIENTS)]  # every group approved by exactly one client

    def worker(share):
        def run():
            http_client = Http(server.port, token)
            for group_id in share:
                status, body = http_client.post(f"/api/draft-groups/{group_id}/approve")
                yield group_id, status, body

        return run

    results = _run_clients([worker(share) for share in shares])
    statuses = Counter(status for _, status, _ in results)
    assert not [s for s in statuses if s >= 500], statuses
    short = {
        g for g, status, body in results if status == 409 and body["error"]["code"] == "INSUFFICIENT_STOCK"
    }
    approved = {g for g, status, _ in results if status == 200}
    assert len(short) + len(approved) == len(groups)
    assert statuses[409] == len(short)

    final = _balances(database_url)
    with psycopg.connect(database_url) as conn:
        group_status = dict(conn.execute("SELECT id, status FROM draft_groups").fetchall())
        line_status = conn.execute(
            "SELECT draft_group_id, array_agg(DISTINCT status) FROM weigh_in_drafts GROUP BY 1"
        ).fetchall()
        ledger = conn.execute(
            "SELECT draft_id, tx_type, quantity_kg FROM transactions WHERE draft_id IS NOT NULL"
        )
        ledger_by_line = defaultdict(list)
        for draft_id, tx_type, qty in ledger:
            ledger_by_line[draft_id].append((tx_type, qty))
    # none half-done: every group is APPROVED or still DRAFT, its lines with it
    assert {g: s for g, s in group_status.items()} == {
        g: "APPROVED" if g in approved else "DRAFT" for g in groups
    }
    assert all(len(statuses_of_lines) == 1 for _, statuses_of_lines in line_status)
    # each approved group's ledger rows equal its lines; nothing booked for the others
    consumed = defaultdict(Decimal)
    for group_id, group in groups.items():
        for d in group["drafts"]:
            rows = ledger_by_line.get(d["id"], [])
            if group_id in approved:
                q = Decimal(str(d["quantity_kg"]))
                assert ("WEIGH_IN", q) in rows
                assert -sum(qty for tx, qty in rows if tx != "WEIGH_IN") == q
                consumed[d["batch_id"]] += q
            else:
                assert rows == []
    for batch_id, (stock, surplus) in final.items():
        assert stock >= 0 and surplus >= 0
        assert sum(initial[batch_id]) - consumed[batch_id] == stock + surplus
    # a group refused as short is still unservable with what is left (balances only went down)
    for group_id in short:
        demand = defaultdict(Decimal)
        for d in groups[group_id]["drafts"]:
            demand[d["batch_id"]] += Decimal(str(d["quantity_kg"]))
        assert any(need > sum(final[batch]) for batch, need in demand.items())
    assert stockroom.unreconciled() == []


def test_one_group_approved_by_eight_clients_at_once_has_one_winner(
    database_url, client, as_admin, accounts, stockroom, start_server
):
    article, batch = stockroom.paint_batch(stock="100", surplus="5")
    group = create(client, as_admin, [line(article, batch, "7"), line(article, batch, "3")]).json
    server = start_server(database_url, WEB_CONCURRENCY=4, THREADS=2)
    token = Http(server.port).post("/api/auth/login", {"username": "admin", "password": PASSWORDS["admin"]})[
        1
    ]["access_token"]

    def worker():
        http_client = Http(server.port, token)
        yield http_client.post(f"/api/draft-groups/{group['id']}/approve")

    results = _run_clients([worker for _ in range(CLIENTS)])
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    assert {body["error"]["code"] for status, body in results if status == 409} == {"GROUP_NOT_DRAFT"}
    assert stockroom.balances(batch) == ("95.00", "0.00")  # 5 surplus first, then 5 stock
