"""Transfers and approvals on the same batches at once, against the real server (gunicorn, several
workers): no negative balance, conservation per batch across locations, balance = ledger sum."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from decimal import Decimal

import psycopg
import pytest

from .test_approval_concurrency import CLIENTS, Http, _run_clients, admin_server, random_groups

pytestmark = pytest.mark.server


def _totals(url):
    """Per batch: (stock + surplus over every location, the lowest single balance)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT batch_id, sum(quantity_kg), min(quantity_kg) FROM balances GROUP BY batch_id"
        ).fetchall()
    return {batch: (total, low) for batch, total, low in rows}


def test_transfers_racing_approvals_never_go_negative_and_conserve_every_batch(
    database_url, client, as_admin, accounts, stockroom, start_server
):
    rng = random.Random(11)
    main, shop = stockroom.location("13"), stockroom.location("14")
    keys = [stockroom.paint_batch(stock="20", surplus="3") for _ in range(3)]
    for article, batch in keys:
        stockroom.book(shop, article, batch, stock="10", surplus="2")
    groups = random_groups(client, as_admin, rng, keys, 24)
    initial = _totals(database_url)
    server, token = admin_server(database_url, start_server)
    ids = list(groups)
    approvers = CLIENTS // 2
    shares = [ids[n::approvers] for n in range(approvers)]

    def approver(share):
        def run():
            http_client = Http(server.port, token)
            for group_id in share:
                yield "approve", group_id, *http_client.post(f"/api/draft-groups/{group_id}/approve")

        return run

    def mover(seed):
        def run():
            local = random.Random(seed)
            http_client = Http(server.port, token)
            for n in range(8):
                source, destination = (main, shop) if local.random() < 0.5 else (shop, main)
                lines = [
                    {
                        "article_id": article,
                        "batch_id": batch,
                        "quantity_kg": str(local.randint(1, 9)),
                        "bucket": local.choice(["stock", "surplus"]),
                    }
                    for article, batch in local.sample(keys, local.randint(1, 2))
                ]
                body = {"from_location_id": source, "to_location_id": destination, "lines": lines}
                yield "transfer", (seed, n), *http_client.post("/api/inventory/transfer", body)

        return run

    results = _run_clients(
        [approver(s) for s in shares] + [mover(seed) for seed in range(CLIENTS - approvers)]
    )
    statuses = Counter((kind, status) for kind, _, status, _ in results)
    assert not [key for key in statuses if key[1] >= 500], statuses
    refusals = {body["error"]["code"] for _, _, status, body in results if status == 409}
    assert refusals <= {"INSUFFICIENT_STOCK"}, refusals
    assert statuses[("transfer", 201)] > 0 and statuses[("approve", 200)] > 0, statuses
    approved = {group_id for kind, group_id, status, _ in results if kind == "approve" and status == 200}
    consumed = defaultdict(Decimal)
    for group_id in approved:
        for d in groups[group_id]["drafts"]:
            consumed[d["batch_id"]] += Decimal(str(d["quantity_kg"]))
    final = _totals(database_url)
    for batch, (total, low) in final.items():
        assert low >= 0
        assert total == initial[batch][0] - consumed[batch]
    with psycopg.connect(database_url) as conn:
        pairs = conn.execute(
            "SELECT transfer_id, sum(quantity_kg), count(*) FROM transactions WHERE transfer_id IS NOT NULL "
            "GROUP BY transfer_id"
        ).fetchall()
    assert len(pairs) == statuses[("transfer", 201)]
    assert all(total == 0 and rows % 2 == 0 for _, total, rows in pairs)
    assert stockroom.unreconciled() == []
