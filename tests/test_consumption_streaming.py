"""The consumption report over a million ledger rows streams on the real server with flat worker memory
(the method of tests/test_report_streaming.py)."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from .test_report_streaming import _Counted, _get, _login, _rss_kb, _worker_pid

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("reconciled")]
ARTICLES, DAYS, LINES = 2_000, 40, 500_000  # two ledger rows per approved line: 1M rows

SEED = """
INSERT INTO articles (id, article_no, description) OVERRIDING SYSTEM VALUE
SELECT i, 'S-' || i, 'Streamed ' || i FROM generate_series(1, %(articles)s) i;
INSERT INTO batches (id, article_id, batch_code) OVERRIDING SYSTEM VALUE
SELECT i, i, (10000 + i)::text FROM generate_series(1, %(articles)s) i;
INSERT INTO transactions (tx_type, bucket, quantity_kg, occurred_at, location_id, article_id, batch_id, source)
SELECT m.tx_type, m.bucket, m.qty, now() - (n / %(articles)s %% %(days)s) * interval '1 day',
       %(location)s, mod(n, %(articles)s) + 1, mod(n, %(articles)s) + 1, 'test'
FROM generate_series(1, %(lines)s) n
CROSS JOIN (VALUES ('WEIGH_IN', NULL, 1.25), ('STOCK_CONSUMED', 'STOCK', -1.25)) m (tx_type, bucket, qty);
INSERT INTO transactions (tx_type, bucket, quantity_kg, occurred_at, location_id, article_id, batch_id, source)
SELECT 'STOCK_RECEIPT', 'STOCK', %(lines)s / %(articles)s * 1.25 + 10, now() - interval '1 year', %(location)s, i, i,
       'test'
FROM generate_series(1, %(articles)s) i;
INSERT INTO stock (location_id, batch_id, article_id, quantity_kg)
SELECT %(location)s, i, i, 10 FROM generate_series(1, %(articles)s) i;
SELECT setval(pg_get_serial_sequence('articles', 'id'), %(articles)s);
SELECT setval(pg_get_serial_sequence('batches', 'id'), %(articles)s);
TRUNCATE consumption_days, consumption_months;
UPDATE consumption_rollup SET closed_before = '-infinity';
SELECT roll_up_consumption(interval '1 hour');
ANALYZE
"""


def _seed(url: str, location: int) -> None:
    params = {"articles": ARTICLES, "days": DAYS, "lines": LINES, "location": location}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # consistent by construction
        for statement in SEED.strip().split(";\n"):
            conn.execute(statement, {k: v for k, v in params.items() if f"%({k})s" in statement})


def test_a_consumption_report_over_1m_ledger_rows_streams_with_flat_worker_memory(
    database_url, accounts, stockroom, start_server
):
    _seed(database_url, stockroom.location("13"))
    server = start_server(database_url, WEB_CONCURRENCY=1, THREADS=1)
    worker = _worker_pid(server.process.pid)
    token = _login(server, "admin")
    today = datetime.now(UTC).date()
    # warm up the whole path with a report of the last four days (a tenth of the rows)
    with _get(
        server, f"/api/reports/consumption?format=csv&from={today - timedelta(days=3)}", token
    ) as reply:
        warm_rows = sum(1 for _ in csv.reader(io.TextIOWrapper(reply, encoding="utf-8", newline=""))) - 1
    assert warm_rows == 4 * ARTICLES
    before = _rss_kb(worker)

    started, peak = time.monotonic(), before
    with _get(
        server, f"/api/reports/consumption?format=csv&from={today - timedelta(days=DAYS)}", token
    ) as reply:
        assert reply.headers.get("Content-Length") is None  # streamed, not built in memory first
        body = _Counted(reply)
        reader = csv.reader(io.TextIOWrapper(io.BufferedReader(body), encoding="utf-8", newline=""))
        header = next(reader)
        rows, weighins = 0, 0
        for rows, row in enumerate(reader, 1):
            weighins += int(row[header.index("weighins")])
            if rows % 5_000 == 0:
                peak = max(peak, _rss_kb(worker))
    elapsed = time.monotonic() - started
    after = _rss_kb(worker)

    print(
        f"\nconsumption report of {rows} rows over {2 * LINES} ledger rows ({body.bytes / 2**20:.1f} MiB) in "
        f"{elapsed:.1f} s; worker RSS after warm-up {before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB, "
        f"after {after / 1024:.1f} MiB"
    )
    assert rows == DAYS * ARTICLES and weighins == LINES
    assert peak - before < 5 * 1024
    assert after - before < 5 * 1024
