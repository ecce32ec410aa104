"""Exports and whole lists stream on the real server: 100k ledger rows of CSV, or a 20k-row inventory
summary, leave the worker's memory flat."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from .conftest import PASSWORDS

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("reconciled")]
ROWS = 100_000


def _seed_ledger(url: str, user_id: int) -> None:
    """ROWS receipts of 1 kg on one key, and the stock they add up to (the ledger invariant holds)."""
    with psycopg.connect(url, autocommit=True) as conn:
        location = conn.execute(
            "INSERT INTO locations (code, name) VALUES ('13', 'Main') ON CONFLICT (code) DO UPDATE SET name = 'Main' "
            "RETURNING id"
        ).fetchone()[0]
        article = conn.execute(
            "INSERT INTO articles (article_no, description) VALUES ('P-BIG', 'Füller, grau; \"2K\"') RETURNING id"
        ).fetchone()[0]
        batch = conn.execute(
            "INSERT INTO batches (article_id, batch_code, expiry_date) VALUES (%s, '12345', '2030-01-01') RETURNING id",
            (article,),
        ).fetchone()[0]
        conn.execute(
            """INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, user_id,
                                         source, order_number, occurred_at)
               SELECT 'STOCK_RECEIPT', 'STOCK', 1, %s, %s, %s, %s, 'import', 'PO-' || (n %% 1000),
                      now() - make_interval(secs => %s - n)
               FROM generate_series(1, %s) n""",
            (location, article, batch, user_id, ROWS, ROWS),
        )
        conn.execute(
            "INSERT INTO stock (location_id, batch_id, article_id, quantity_kg) VALUES (%s, %s, %s, %s)",
            (location, batch, article, ROWS),
        )


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


def _rss_kb(pid: int) -> int:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = row.partition(":")
        if name == "VmRSS":
            return int(value.split()[0])
    raise AssertionError("no VmRSS")


class _Counted(io.RawIOBase):
    """The response body as a raw stream that counts its bytes."""

    def __init__(self, reply):
        self.reply = reply
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.reply.readinto(buffer)
        self.bytes += n
        return n


def _login(server, username: str) -> str:
    """An access token from the real server's login."""
    body = json.dumps({"username": username, "password": PASSWORDS[username]}).encode()
    request = urllib.request.Request(
        server.base + "/api/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.load(reply)["access_token"]


def _get(server, path: str, token: str):
    request = urllib.request.Request(server.base + path, headers={"Authorization": f"Bearer {token}"})
    return urllib.request.urlopen(request, timeout=30)


def test_csv_export_of_100k_ledger_rows_streams_with_flat_worker_memory(database_url, accounts, start_server):
    _seed_ledger(database_url, accounts["admin"])
    server = start_server(database_url, WEB_CONCURRENCY=1, THREADS=1)
    worker = _worker_pid(server.process.pid)
    token = _login(server, "admin")
    # warm up the whole path (imports, pool, allocator) with an export of the newest tenth of the rows
    since = urllib.parse.quote((datetime.now(UTC) - timedelta(seconds=ROWS // 10)).isoformat())
    with _get(server, f"/api/reports/transactions?format=csv&from={since}", token) as reply:
        warm_rows = sum(1 for _ in csv.reader(io.TextIOWrapper(reply, encoding="utf-8", newline=""))) - 1
    assert ROWS // 10 - 100 <= warm_rows <= ROWS // 10
    before = _rss_kb(worker)

    started = time.monotonic()
    peak = before
    with _get(server, "/api/reports/transactions?format=csv", token) as reply:
        assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert reply.headers.get("Content-Length") is None  # streamed, not built in memory first
        body = _Counted(reply)
        reader = csv.reader(io.TextIOWrapper(io.BufferedReader(body), encoding="utf-8", newline=""))
        header = next(reader)
        rows, row = 0, header
        for rows, row in enumerate(reader, 1):  # noqa: B007 - the last row is checked below
            if rows % 5_000 == 0:
                peak = max(peak, _rss_kb(worker))
    elapsed = time.monotonic() - started
    after = _rss_kb(worker)

    print(
        f"\nCSV export of {rows} ledger rows ({body.bytes / 2**20:.1f} MiB) in {elapsed:.1f} s; worker RSS "
        f"after a {warm_rows}-row warm-up {before / 1024:.1f} MiB, peak while streaming {peak / 1024:.1f} MiB, "
        f"after {after / 1024:.1f} MiB"
    )
    assert rows == ROWS
    assert header[:3] == ["id", "occurred_at", "tx_type"]
    assert row[header.index("description")] == 'Füller, grau; "2K"'
    # ten times the rows of the warm-up, about 14 MB of CSV: memory must not follow the size
    assert peak - before < 4 * 1024
    assert after - before < 4 * 1024


def _seed_inventory(url: str, rows: int) -> None:
    """`rows` (location, batch) balances of 1 kg over 200 articles, each booked in the ledger."""
    with psycopg.connect(url, autocommit=True) as conn:
        location = conn.execute(
            "INSERT INTO locations (code, name) VALUES ('13', 'Main') RETURNING id"
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO articles (article_no, description) "
            "SELECT 'P-' || lpad(n::text, 4, '0'), 'Paint ' || n FROM generate_series(1, 200) n"
        )
        conn.execute(
            """INSERT INTO batches (article_id, batch_code, expiry_date)
               SELECT a.id, (10000 + n)::text, DATE '2030-01-01' + (n %% 365)
               FROM articles a CROSS JOIN generate_series(1, %s) n""",
            (rows // 200,),
        )
        conn.execute(
            "INSERT INTO stock (location_id, batch_id, article_id, quantity_kg) "
            "SELECT %s, id, article_id, 1 FROM batches",
            (location,),
        )
        conn.execute(
            """INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, batch_id, source)
               SELECT 'STOCK_RECEIPT', 'STOCK', 1, location_id, article_id, batch_id, 'import' FROM stock"""
        )


def inventory_server(database_url: str, start_server, rows: int, username: str, threads: int = 1):
    """A one-worker server over `rows` inventory balances: the server, its worker's pid, a token."""
    _seed_inventory(database_url, rows)
    server = start_server(database_url, WEB_CONCURRENCY=1, THREADS=threads)
    return server, _worker_pid(server.process.pid), _login(server, username)


def test_the_whole_inventory_summary_of_20k_rows_streams_with_flat_worker_memory(
    database_url, accounts, start_server
):
    rows = 20_000
    server, worker, token = inventory_server(database_url, start_server, rows, "operator")
    # warm up the whole path with the same list at a tenth of the size (one article in ten)
    with _get(server, "/api/inventory/summary?limit=500", token) as reply:
        json.load(reply)
    warm = 0
    for article in range(1, 201, 10):
        with _get(server, f"/api/inventory/summary?article_id={article}", token) as reply:
            warm += len(json.load(reply)["items"])
    before = _rss_kb(worker)

    peak = before
    with _get(server, "/api/inventory/summary", token) as reply:  # no limit: the whole list
        assert reply.headers.get("Content-Length") is None  # streamed, not built in memory first
        body = _Counted(reply)
        chunks = []
        while chunk := body.read(64 * 1024):
            chunks.append(chunk)
            peak = max(peak, _rss_kb(worker))
    after = _rss_kb(worker)
    answer = json.loads(b"".join(chunks))

    print(
        f"\nwhole inventory summary of {len(answer['items'])} rows ({body.bytes / 2**20:.1f} MiB); worker RSS "
        f"after a {warm}-row warm-up {before / 1024:.1f} MiB, peak while streaming {peak / 1024:.1f} MiB, "
        f"after {after / 1024:.1f} MiB"
    )
    assert len(answer["items"]) == answer["total"] == rows and answer["next_cursor"] is None
    assert warm == rows // 10
    assert peak - before < 4 * 1024
    assert after - before < 4 * 1024
