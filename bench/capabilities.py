# ruff: noqa: RUF001, RUF002 - the report uses the multiplication sign on purpose
"""SPEC §10's workloads (`make bench-capabilities`): a transfer beside pgbench running the same statement
at 8 connections (issue 16: ≥ 0.5×), and the stock reads, each alone (1 connection: how long one answer
takes, the p50 ≤ 50 ms bar) and at 8 connections (what two cores serve when everyone asks at once)."""

from __future__ import annotations

from .report import f, rows_by, table

PLAN = [
    ("transfer", 8),
    *(
        (read, connections)
        for read in ("low-stock", "expiring", "consumption", "consumption-article")
        for connections in (1, 8)
    ),
]
READ_BAR_MS = 50.0
TRANSFER_BAR = 0.5


def section(result: dict | None) -> list[str]:
    """docs/benchmarks.md's section for the latest capabilities run (none yet: how to make one)."""
    out = ["", "## The warehouse's next capabilities (SPEC §10)", ""]
    if not result:
        return [*out, "Not measured yet: `make bench-capabilities` (about 5 minutes)."]
    runs = result["runs"]
    rows = rows_by(runs, "workload", "connections")
    seed = result["seed"]
    out += [
        f"From `make bench-capabilities` on commit `{result['machine']['git_head']}`, started"
        f" {result['started']} ({result['wall_seconds'] / 60:.1f} min): {seed['groups']:,} groups,"
        f" {seed['ledger rows']:,} ledger rows; {result['seconds']:g} s runs, median of"
        f" {max(r['round'] for r in runs) + 1} rounds. The consumption read is last calendar month by month"
        " for all articles (bench/reads.py), consumption-article 30 days by day for one article.",
        "",
    ]
    lines = []
    for workload, connections in PLAN:
        row = rows.get((workload, connections))
        if row is None:
            continue
        pg = row.pg and f"{f(row.rate('pg'))} /s, p50 {f(row.lat('pg', 'p50'), 2)} ms"
        if workload == "transfer":
            verdict = (
                f"{row.ratio():.2f}× pgbench ({'PASS' if row.ratio() >= TRANSFER_BAR else 'FAIL'} ≥ 0.5×)"
            )
        elif connections == 1:
            ok = row.lat("svc", "p50") <= READ_BAR_MS
            verdict = f"{'PASS' if ok else 'FAIL'} p50 ≤ {READ_BAR_MS:g} ms"
        else:
            verdict = "two cores shared by 8 callers"
        lines.append(
            [
                workload,
                str(connections),
                f(row.rate("svc")),
                f(row.lat("svc", "p50"), 2),
                f(row.lat("svc", "p99"), 2),
                pg or "—",
                verdict,
            ]
        )
    out += table(["workload", "connections", "service /s", "p50 ms", "p99 ms", "pgbench", "bar"], lines)
    return out
