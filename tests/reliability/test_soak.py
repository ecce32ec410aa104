"""Soak: N clients for T seconds against the real server with a random mix of writes and reads on a few
hot batches, every write under an Idempotency-Key and retried with it. Invariants are checked in
snapshots during the run and in full after it. `make test` runs a short soak; `make soak` a long one
(SOAK_SECONDS, SOAK_CLIENTS). The fault variant terminates backends and restarts PostgreSQL meanwhile."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from ..conftest import PASSWORDS
from .harness import Client, consumed_by_approved, invariant_violations, login

pytestmark = pytest.mark.server
SECONDS = float(os.environ.get("SOAK_SECONDS", "5"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "8"))
REPORT_DIR = Path(os.environ.get("SOAK_REPORT_DIR", "bench/out"))
# operation: weight
OPS = {"create": 22, "single": 8, "approve": 25, "reject": 5, "receive": 8, "adjust": 4, "count": 3}
OPS |= {"transfer": 8, "list": 12, "read": 13}


class Soak:
    def __init__(self, port: int, url: str, tokens: dict[str, str], keys: list[tuple[int, int]], seed: int):
        with psycopg.connect(url) as conn:
            self.codes = dict(conn.execute("SELECT id, batch_code FROM batches").fetchall())
            self.sites = [r[0] for r in conn.execute("SELECT id FROM locations WHERE code IN ('13', '14')")]
        self.transfers: set[int] = set()  # acknowledged transfer ids
        self.added: Counter = Counter()  # per batch: what receipts, adjustments and counts booked at once
        self.port = port
        self.url = url
        self.tokens = tokens
        self.keys = keys
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.groups: dict[int, int] = {}  # acknowledged group id -> line count
        self.approved: set[int] = set()
        self.rejected: set[int] = set()
        self.gave_up: list[tuple[str, str]] = []
        self.ops: Counter = Counter()
        self.errors: Counter = Counter()
        self.stats: Counter = Counter()
        self.snapshot_problems: list[str] = []
        self.snapshots = 0

    def _lines(self, rng, n):
        return [
            {
                "article_id": a,
                "batch_id": b,
                "quantity_kg": str(Decimal(rng.randint(5, 300)) / 100),
                "client_event_id": f"soak-{rng.getrandbits(64):x}",
            }
            for a, b in rng.sample(self.keys, n)
        ]

    def _draft_ids(self, rng):
        with self.lock:
            pending = [g for g in self.groups if g not in self.approved and g not in self.rejected]
        return rng.choice(pending) if pending else None

    def step(self, client: Client, admin: Client, rng: random.Random) -> None:
        op = rng.choices(list(OPS), list(OPS.values()))[0]
        if op == "create":
            status, body, _ = client.send(
                "POST", "/api/draft-groups", {"lines": self._lines(rng, rng.randint(1, 3))}
            )
            if status in (200, 201):
                with self.lock:
                    self.groups[body["id"]] = body["line_count"]
        elif op == "single":
            status, body, _ = client.send("POST", "/api/drafts", self._lines(rng, 1)[0])
            if status in (200, 201):
                with self.lock:
                    self.groups[body["draft_group_id"]] = 1
        elif op in ("approve", "reject"):
            group = self._draft_ids(rng)
            if group is None:
                return
            status, body, _ = admin.send("POST", f"/api/draft-groups/{group}/{op}", {})
            if status == 200:
                with self.lock:
                    (self.approved if op == "approve" else self.rejected).add(group)
        elif op in ("receive", "adjust", "count", "transfer"):
            status, body = self._inventory(op, admin, rng)
        elif op == "list":
            status, body, _ = client.send("GET", "/api/draft-groups?status=DRAFT&limit=20")
        else:
            group = self._draft_ids(rng)
            if group is None:
                return
            status, body, _ = admin.send("GET", f"/api/draft-groups/{group}")
        self.ops[op] += 1
        if status == 0:
            self.gave_up.append((op, str(body)))
        elif status >= 400:
            self.errors[(status, body.get("error", {}).get("code"))] += 1

    def _inventory(self, op: str, admin: Client, rng: random.Random):
        article, batch = rng.choice(self.keys)
        quantity = Decimal(rng.randint(100, 1500)) / 100
        if op == "receive":
            status, body, _ = admin.send(
                "POST",
                "/api/inventory/receive",
                {
                    "order_number": f"PO-{rng.randint(1, 999)}",
                    "article_id": article,
                    "batch_code": self.codes[batch],
                    "quantity_kg": str(quantity),
                    "expiry_date": "2030-01-01",
                },
            )
            change = quantity if status in (200, 201) else 0
        elif op == "adjust":
            status, body, _ = admin.send(
                "POST",
                "/api/inventory/adjust",
                {
                    "article_id": article,
                    "batch_id": batch,
                    "target": "surplus",
                    "mode": "delta",
                    "quantity_kg": str(quantity),
                    "note": "soak",
                },
            )
            change = quantity if status == 200 else 0
        elif op == "transfer":  # competes with approvals for the batches; conserves each batch's total
            line = {"article_id": article, "batch_id": batch, "quantity_kg": str(quantity / 3)[:6]}
            source, destination = rng.sample(self.sites, 2)
            body = {"from_location_id": source, "to_location_id": destination, "lines": [line]}
            status, body, _ = admin.send("POST", "/api/inventory/transfer", {**body, "note": "soak"})
            change = 0
            if status in (200, 201):
                with self.lock:
                    self.transfers.add(body["id"])
        else:
            status, body, _ = admin.send(
                "POST",
                "/api/inventory/count",
                {"article_id": article, "batch_id": batch, "counted_total_qty": str(quantity * 3)},
            )
            change = 0
            if status in (200, 201):
                change = Decimal(str(body["surplus_added"] or 0)) - Decimal(str(body["surplus_reset"] or 0))
                if body["shortage_group_id"]:
                    with self.lock:
                        self.groups[body["shortage_group_id"]] = len(body["shortage_draft_ids"])
        with self.lock:
            self.added[batch] += change
        return status, body

    def client_loop(self, n: int, deadline: float) -> None:
        rng = random.Random(self.rng.random())
        role = "operator" if n % 2 else "admin"
        client = Client(self.port, self.tokens[role])
        admin = Client(self.port, self.tokens["admin"]) if role != "admin" else client
        while time.monotonic() < deadline:
            self.step(client, admin, rng)
        with self.lock:
            self.stats.update(client.stats)
            if admin is not client:
                self.stats.update(admin.stats)

    def watch(self, deadline: float, stop: threading.Event) -> None:
        while time.monotonic() < deadline and not stop.wait(1.0):
            try:
                self.snapshot_problems += invariant_violations(self.url)
                self.snapshots += 1
            except psycopg.OperationalError:
                pass  # the database may be restarting in the fault run

    def run(self, seconds: float, clients: int, chaos=None) -> dict:
        started = time.monotonic()
        deadline = started + seconds
        stop = threading.Event()
        threads = [threading.Thread(target=self.client_loop, args=(n, deadline)) for n in range(clients)]
        threads.append(threading.Thread(target=self.watch, args=(deadline, stop)))
        if chaos:
            threads.append(threading.Thread(target=chaos, args=(deadline,)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop.set()
        elapsed = time.monotonic() - started
        total = sum(self.ops.values())
        return {
            "seconds": round(elapsed, 1),
            "clients": clients,
            "ops": total,
            "ops_per_s": round(total / elapsed, 1),
            "by_op": dict(self.ops),
            "statuses": {str(k): v for k, v in self.stats.items()},
            "errors": {f"{s} {c}": v for (s, c), v in self.errors.items()},
            "approved": len(self.approved),
            "rejected": len(self.rejected),
            "groups": len(self.groups),
            "snapshots_checked": self.snapshots,
            "gave_up": len(self.gave_up),
        }


def _start(database_url, accounts, stockroom, start_server, **env):
    keys = [stockroom.paint_batch(stock="40", surplus="5") for _ in range(4)]
    stockroom.location("14")  # transfers move stock between 13 and 14
    initial = {b: sum(Decimal(x) for x in stockroom.balances(b)) for _, b in keys}
    server = start_server(database_url, WEB_CONCURRENCY=2, THREADS=4, **env)
    tokens = {name: login(server.port, name, PASSWORDS[name]) for name in ("admin", "operator")}
    return server, keys, initial, tokens


def _final_checks(soak: Soak, database_url: str, initial: dict) -> None:
    assert soak.snapshot_problems == []
    assert invariant_violations(database_url) == []
    assert soak.gave_up == []
    consumed = consumed_by_approved(database_url)
    with psycopg.connect(database_url) as conn:
        statuses = dict(conn.execute("SELECT id, status FROM draft_groups").fetchall())
        lines = dict(
            conn.execute("SELECT draft_group_id, count(*) FROM weigh_in_drafts GROUP BY 1").fetchall()
        )
        balances = dict(conn.execute("SELECT batch_id, sum(quantity_kg) FROM balances GROUP BY 1").fetchall())
        transfers = {row[0] for row in conn.execute("SELECT id FROM transfers")}
    assert transfers == soak.transfers
    # no acknowledged write missing, none applied twice or unacknowledged
    assert {g: lines.get(g) for g in soak.groups} == soak.groups
    assert set(statuses) == set(soak.groups)
    assert {g for g, s in statuses.items() if s == "APPROVED"} == soak.approved
    assert {g for g, s in statuses.items() if s == "REJECTED"} == soak.rejected
    # conservation: left = there at the start + received, adjusted and counted - consumed by approved lines
    for batch, start in initial.items():
        assert balances[batch] == start + soak.added[batch] - consumed.get(batch, 0)


def _write_report(name: str, report: dict) -> None:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    (REPORT_DIR / f"{name}.json").write_text(json.dumps(report, indent=2))
    print(f"\n{name}: {json.dumps(report)}")


def test_soak_keeps_every_invariant(database_url, accounts, stockroom, start_server):
    server, keys, initial, tokens = _start(database_url, accounts, stockroom, start_server)
    soak = Soak(server.port, database_url, tokens, keys, seed=11)
    report = soak.run(SECONDS, CLIENTS)
    _write_report("soak", report)
    assert not [s for s in soak.stats if isinstance(s, int) and s >= 500], soak.stats
    assert soak.approved and soak.groups
    _final_checks(soak, database_url, initial)


def test_soak_through_killed_connections_and_a_database_restart(
    database_url, accounts, stockroom, start_server, local_cluster, pg_server
):
    server, keys, initial, tokens = _start(database_url, accounts, stockroom, start_server)
    soak = Soak(server.port, database_url, tokens, keys, seed=12)
    faults = Counter()
    name = database_url.rsplit("/", 1)[1]

    def chaos(deadline: float) -> None:
        restarted = False
        while time.monotonic() < deadline - 3:
            time.sleep(2.0)
            try:
                with psycopg.connect(pg_server, autocommit=True) as conn:
                    killed = conn.execute(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        (name,),
                    ).fetchone()[0]
                faults["terminated_connections"] += killed
            except psycopg.OperationalError:
                pass
            if not restarted and time.monotonic() > deadline - SECONDS / 2:
                local_cluster.stop(mode="fast")
                time.sleep(1.0)
                local_cluster.start()
                faults["restarts"] += 1
                restarted = True

    report = soak.run(max(SECONDS, 8), CLIENTS, chaos=chaos)
    report["faults"] = dict(faults)
    _write_report("faults", report)
    assert faults["restarts"] == 1 and faults["terminated_connections"] > 0
    # clients saw 503s (and dropped connections) and retried them under their keys; never a 500
    assert 500 not in soak.stats
    _final_checks(soak, database_url, initial)
