"""The stock-read workloads (SPEC §10): each GETs one path (bench/lua/path.lua) over the seeded history,
where every tenth article is below its reorder threshold and 900 (location, batch) rows expire within
30 days (bench/seed.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# workload: (wrk Lua files, pgbench scripts, pool of DRAFT groups per request), as bench/run.py's WORKLOADS
WORKLOADS = {
    name: (["path.lua"], None, 0.0)
    for name in ("low-stock", "expiring", "consumption", "consumption-article")
}


def path(workload: str) -> str:
    """What a workload GETs: consumption is the last calendar month per month for all articles (the seed
    puts its history in the last ~35 days), consumption-article the last 30 days per day for one article."""
    today = datetime.now(UTC).date()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    return {
        "low-stock": "/api/inventory/low-stock",
        "expiring": "/api/inventory/expiring?within_days=30",
        "consumption": f"/api/reports/consumption?from={last_month_end.replace(day=1)}&to={last_month_end}"
        "&group_by=month",
        "consumption-article": f"/api/reports/consumption?from={today - timedelta(days=30)}&article_id=17",
    }[workload]
