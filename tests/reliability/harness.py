"""A small HTTP client with retries under one Idempotency-Key, and the invariant checks the reliability
tests share."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections import Counter
from decimal import Decimal

import psycopg


class Client:
    """One keep-alive connection. `send` retries a request under the same Idempotency-Key on timeouts,
    dropped connections, 503s and 409 IDEMPOTENCY_KEY_IN_USE, as the scale integrations do (behind nginx,
    a request whose instance died before answering is nginx's 503 SERVICE_UNAVAILABLE)."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 20.0):
        self.port = port
        self.token = token
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None
        self.stats: Counter = Counter()

    def _request(self, method: str, path: str, body, key: str | None) -> tuple[int, dict, dict]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if key:
            headers["Idempotency-Key"] = key
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        reply = self.conn.getresponse()
        raw = reply.read()
        return reply.status, (json.loads(raw) if raw else {}), dict(reply.getheaders())

    def send(
        self,
        method: str,
        path: str,
        body=None,
        *,
        keyed: bool = True,
        key: str | None = None,
        attempts: int = 30,
    ):
        """(status, body, attempts used). The final answer after retries, or (0, {}, n) if none came."""
        if key is None and keyed and method in ("POST", "PATCH"):
            key = str(uuid.uuid4())
        for attempt in range(1, attempts + 1):
            try:
                status, data, headers = self._request(method, path, body, key)
            except (OSError, http.client.HTTPException):
                self.stats["transport_errors"] += 1
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                time.sleep(min(2.0, 0.05 * attempt))
                continue
            self.stats[status] += 1
            if headers.get("Idempotent-Replayed") == "true":
                self.stats["replayed"] += 1
            code = data.get("error", {}).get("code")
            in_use = status == 409 and code == "IDEMPOTENCY_KEY_IN_USE"
            if status == 503 or in_use:
                self.stats["retried"] += 1
                self.stats[f"{status} {code} {method} {path.split('/')[-1]}"] += 1
                time.sleep(min(2.0, 0.05 * attempt))
                continue
            return status, data, attempt
        return 0, {}, attempts


def login(port: int, username: str, password: str) -> str:
    status, data, _ = Client(port).send(
        "POST", "/api/auth/login", {"username": username, "password": password}
    )
    assert status == 200, data
    return data["access_token"]


def invariant_violations(url: str) -> list[str]:
    """Everything that must hold at any moment, read in one snapshot."""
    problems = []
    with psycopg.connect(url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        negative = (
            conn.execute("SELECT count(*) FROM stock WHERE quantity_kg < 0").fetchone()[0]
            + conn.execute("SELECT count(*) FROM surplus WHERE quantity_kg < 0").fetchone()[0]
        )
        if negative:
            problems.append(f"{negative} negative balances")
        split = conn.execute("""SELECT count(*) FROM draft_groups g JOIN weigh_in_drafts d ON d.draft_group_id = g.id
                                WHERE d.status <> g.status""").fetchone()[0]
        if split:
            problems.append(f"{split} lines disagree with their group")
        unreconciled = conn.execute("""
            SELECT count(*) FROM (SELECT 'STOCK' AS bucket, location_id, batch_id, quantity_kg FROM stock
                                  UNION ALL SELECT 'SURPLUS', location_id, batch_id, quantity_kg FROM surplus) b
            FULL JOIN (SELECT bucket, location_id, batch_id, sum(quantity_kg) AS total FROM transactions
                       WHERE bucket IS NOT NULL GROUP BY 1, 2, 3) l USING (bucket, location_id, batch_id)
            WHERE coalesce(b.quantity_kg, 0) <> coalesce(l.total, 0)""").fetchone()[0]
        if unreconciled:
            problems.append(f"{unreconciled} balances differ from their ledger sums")
        orphans = conn.execute("""SELECT count(*) FROM transactions t LEFT JOIN weigh_in_drafts d ON d.id = t.draft_id
                                  WHERE t.draft_id IS NOT NULL AND d.status IS DISTINCT FROM 'APPROVED'""").fetchone()[
            0
        ]
        if orphans:
            problems.append(f"{orphans} ledger rows whose draft is not approved")
        doubled = conn.execute("""SELECT count(*) FROM (SELECT draft_id FROM transactions
                                  WHERE draft_id IS NOT NULL AND tx_type IN ('WEIGH_IN', 'INVENTORY_ADJUSTMENT')
                                  GROUP BY draft_id HAVING count(*) > 1) x""").fetchone()[0]
        if doubled:
            problems.append(f"{doubled} drafts booked more than once")
        unbooked = conn.execute("""SELECT count(*) FROM weigh_in_drafts d WHERE d.status = 'APPROVED'
                                   AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.draft_id = d.id)""").fetchone()[
            0
        ]
        if unbooked:
            problems.append(f"{unbooked} approved drafts without ledger rows")
        unpaired = conn.execute("""SELECT count(*) FROM transfers t WHERE (SELECT coalesce(sum(x.quantity_kg), 1)
                                   FROM transactions x WHERE x.transfer_id = t.id) <> 0""").fetchone()[0]
        if unpaired:
            problems.append(f"{unpaired} transfers whose ledger rows do not cancel out")
    return problems


def consumed_by_approved(url: str) -> dict[int, Decimal]:
    with psycopg.connect(url) as conn:
        return dict(
            conn.execute(
                "SELECT batch_id, sum(quantity_kg) FROM weigh_in_drafts WHERE status = 'APPROVED' "
                "GROUP BY batch_id"
            ).fetchall()
        )
