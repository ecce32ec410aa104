# ruff: noqa: RUF001 - the report uses the multiplication sign and en dash on purpose
"""docs/benchmarks.md from the results in bench/results/*.json: medians over rounds, ratios paired per
round (service and pgbench ran back to back), the acceptance checks of issue 18."""

from __future__ import annotations

import statistics
from collections import defaultdict

OK, NO = "PASS", "FAIL"


def mark(passed: bool) -> str:
    return OK if passed else NO


# the workloads' order in the tables (bench/run.py's MAIN_ORDER is this without transfer)
ORDER = ["openapi", "list", "get", "login", "create", "approve", "approve-pgbouncer", "approve-recent"]
ORDER += ["mixed", "transfer"]


def med(values) -> float:
    values = [v for v in values if v is not None and v == v]
    return statistics.median(values) if values else float("nan")


def f(value: float, digits: int = 1) -> str:
    if value is None or value != value:
        return "–"
    return f"{value:,.{digits}f}"


def errors_of(run: dict) -> dict[str, int]:
    """Server-log ERRORs of one run, in four kinds."""
    kinds = {"ssi": 0, "update": 0, "deadlock": 0, "other": 0}
    for message, count in run.get("server_errors", {}).items():
        if "could not serialize" in message and "read/write dependencies" in message:
            kinds["ssi"] += count
        elif "could not serialize" in message:
            kinds["update"] += count
        elif "deadlock" in message:
            kinds["deadlock"] += count
        else:
            kinds["other"] += count
    return kinds


def non2xx(run: dict) -> int:
    return sum(n for code, n in run.get("statuses", {}).items() if not 200 <= int(code) < 300)


def status(run: dict, code: int) -> int:
    return sum(n for c, n in run.get("statuses", {}).items() if int(c) == code)


class Row:
    """One (workload, connections[, setting]) cell: its service and pgbench runs across rounds."""

    def __init__(self, runs: list[dict]):
        self.svc = sorted((r for r in runs if r["side"] == "service"), key=lambda r: r["round"])
        self.pg = sorted((r for r in runs if r["side"] == "pgbench"), key=lambda r: r["round"])

    def rate(self, side: str) -> float:
        return med(r["rate"] for r in getattr(self, side))

    def lat(self, side: str, p: str) -> float:
        return med(r[f"{p}_ms"] for r in getattr(self, side))

    def wrk_p99(self) -> float | None:
        """wrk's own p99 of the service runs (corrected for coordinated omission); None in old results."""
        values = [r["wrk_p99_ms"] for r in self.svc if "wrk_p99_ms" in r]
        return med(values) if values else None

    def ratio(self, against: Row | None = None) -> float:
        """Service rate / pgbench rate, per round; pgbench's runs of `against` (approve-pgbouncer has none)"""
        pg = {r["round"]: r["rate"] for r in (against or self).pg}
        return med(r["rate"] / pg[r["round"]] for r in self.svc if pg.get(r["round"]))

    def cpu_ms(self, side: str, what: str) -> float:
        return med(1000 * r[what] / r["requests"] for r in getattr(self, side) if r["requests"])

    def per_k(self, side: str, kind: str) -> float:
        """Server-log errors of a kind per 1000 requests (transactions)."""
        return med(1000 * errors_of(r)[kind] / r["requests"] for r in getattr(self, side) if r["requests"])


def rows_by(runs: list[dict], *keys: str) -> dict[tuple, Row]:
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for run in runs:
        grouped[tuple(run.get(k) for k in keys)].append(run)
    return {k: Row(v) for k, v in grouped.items()}


def paired_ratio(runs: list[dict], numerator: str, denominator: str, connections: int) -> float:
    """Median over rounds of rate(numerator) / rate(denominator), service side, same round."""
    by_round: dict[int, dict[str, float]] = defaultdict(dict)
    for r in runs:
        if (
            r["side"] == "service"
            and r["connections"] == connections
            and r.get("pred_locks_per_page")
            in (
                None,
                main_setting(runs),
            )
        ):
            by_round[r["round"]][r["workload"]] = r["rate"]
    return med(
        v[numerator] / v[denominator] for v in by_round.values() if numerator in v and v.get(denominator)
    )


def main_setting(runs: list[dict]) -> int | None:
    return runs[0].get("pred_locks_per_page") if runs else None


def acceptance(main: dict, growth: dict | None) -> list[tuple[str, str, str]]:
    runs = main["runs"]
    setting = main_setting(runs)
    cells = rows_by([r for r in runs if r.get("pred_locks_per_page") == setting], "workload", "connections")
    checks = []
    minutes = main.get("wall_seconds", 0) / 60
    checks.append(
        (
            f"`make bench` end to end at N={main['seed']['groups']:,} ≤ 15 min",
            f"{minutes:.1f} min",
            mark(minutes <= 15),
        )
    )
    approve = cells.get(("approve", 8))
    if approve and approve.pg:
        cpu = approve.cpu_ms("svc", "service_cpu_s")
        p99, pg_p99 = approve.lat("svc", "p99"), approve.lat("pg", "p99")
        checks += [
            ("workers' CPU per approval at 8 connections ≤ 0.45 ms", f"{cpu:.2f} ms", mark(cpu <= 0.45)),
            (
                "approve p99 at 8 connections ≤ 1.5× pgbench approve p99",
                f"{f(p99, 2)} ms vs {f(pg_p99, 2)} ms ({p99 / pg_p99:.2f}×)",
                mark(p99 <= 1.5 * pg_p99),
            ),
        ]
    bars = {"approve": 0.8, "approve-recent": 0.8, "create": 0.9, "mixed": 0.7}
    for name, bar in bars.items():
        row = cells.get((name, 8))
        if row and row.pg:
            ratio = row.ratio()
            checks.append((f"{name} at 8 connections ≥ {bar}× pgbench", f"{ratio:.2f}×", mark(ratio >= bar)))
    for name in ("list", "get"):
        ratio = paired_ratio(runs, name, "openapi", 8)
        checks.append(
            (
                f"{name} at 8 connections ≥ 0.45× the openapi.json ceiling",
                f"{ratio:.2f}×",
                mark(ratio >= 0.45),
            )
        )
    if growth:
        g = growth_table(growth)
        for name in ("approve", "list"):
            small, big = g.get((name, 10_000)), g.get((name, 1_000_000))
            if small and big:
                ratio = big.lat("svc", "p50") / small.lat("svc", "p50")
                checks.append(
                    (
                        f"{name} p50 at 1M ≤ 1.3× its p50 at 10k (service)",
                        f"{ratio:.2f}×",
                        mark(ratio <= 1.3),
                    )
                )
    rss = max(main.get("rss_max_kb", {}).values(), default=0) / 1024
    checks.append(
        (
            "every gunicorn worker's RSS < 150 MB through the run",
            f"max {rss:.0f} MB",
            mark(0 < rss < 150),
        )
    )
    return checks


def headline_section(cells: dict[tuple, Row], runs: list[dict]) -> list[str]:
    """What a request costs the workers and PostgreSQL at 8 connections, beside the ratios and the machine's
    ceiling, so a run on another machine can be read against this one."""
    ceiling = cells.get(("openapi", 8))
    if not ceiling:
        return []
    out = [
        "## Headline: CPU per request at 8 connections",
        "",
        f"The machine's ceiling, `GET /openapi.json` (no database): {f(ceiling.rate('svc'))} req/s, "
        f"{f(ceiling.cpu_ms('svc', 'service_cpu_s'), 2)} ms of the workers' CPU per request. CPU is in ms",
        "per request: the gunicorn workers', and PostgreSQL's (all its processes) when the service drives it",
        "and when pgbench runs the same statements. Reads are set against the ceiling, writes against",
        "pgbench.",
        "",
    ]
    rows = []
    for name in ("approve", "approve-recent", "create", "mixed", "list", "get"):
        row = cells.get((name, 8))
        if not row or not row.svc:
            continue
        against = (
            f"{paired_ratio(runs, name, 'openapi', 8):.2f}× ceiling"
            if name in ("list", "get")
            else f"{row.ratio():.2f}× pgbench"
        )
        rows.append(
            [
                name,
                f(row.rate("svc")),
                against,
                f(row.cpu_ms("svc", "service_cpu_s"), 2),
                f"{f(row.cpu_ms('svc', 'postgres_cpu_s'), 2)} / "
                + (f(row.cpu_ms("pg", "postgres_cpu_s"), 2) if row.pg else "–"),
            ]
        )
    return out + table(
        [
            "workload",
            "service req/s",
            "ratio",
            "workers' CPU / request",
            "PostgreSQL CPU / request: service / pgbench",
        ],
        rows,
    )


def growth_table(growth: dict) -> dict[tuple, Row]:
    return rows_by(growth["runs"], "workload", "groups")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render(main: dict, growth: dict | None, history: list[dict]) -> str:
    """docs/benchmarks.md: the latest run, its acceptance figures, the growth run and a short history."""
    m = main["machine"]
    runs = main["runs"]
    setting = main_setting(runs)
    service = main["service"]
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (bench/run.py) — do not edit by hand; `bench/README.md` says how it works.",
        f"Run started {main['started']} on commit `{m['git_head']}`"
        + (" with uncommitted changes in service/, sql/ or migrations/" if m.get("app_tree_dirty") else "")
        + f"; it took {main['wall_seconds'] / 60:.1f} min end to end.",
        "",
        "**The machine is shared** (2 cores; other engineers' test suites were running at the same time), so",
        "absolute figures are noisy. Every service figure has its pgbench counterpart measured back to back",
        f"in the same round; each cell is the median of {max(r['round'] for r in runs) + 1} rounds, and",
        "ratios are the median of the per-round ratios.",
        "",
        "## Machine and settings",
        "",
        f"- {m['nproc']} cores ({m['cpu']}), {m['memory_gib']} GiB memory, Linux {m['kernel']};"
        f" load average at start {' '.join(m['loadavg_at_start'])}",
        f"- PostgreSQL {m['postgresql']}, Python {m['python']}, "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + f"; {m['wrk']}",
        f"- Service: `weighin serve` = gunicorn, {service['worker_class']} workers, WEB_CONCURRENCY="
        f"{service['workers']}, THREADS={service['threads']}, DB_POOL_SIZE={service['pool']}"
        " (the service's defaults, which README recommends), LOG_LEVEL=WARNING (no access log), login limit"
        " lifted (LOGIN_ATTEMPTS_PER_MINUTE=0).",
        "- Load: wrk, 2 threads, keep-alive, over loopback, Lua scripts in bench/lua; pgbench -M prepared,"
        " -j 2, --max-tries=8 (the service's retry budget), scripts generated from sql/ at bench time.",
        f"- Each run lasts {main['seconds']:g} s. Cluster settings (the embedded cluster's SERVER_SETTINGS"
        " plus the bench's own): "
        + ", ".join(f"`{k}={v.strip(chr(39))}`" for k, v in main["settings"].items()),
        f"- Data: {main['seed']['groups']:,} groups of history ({main['seed']['lines']:,} lines,"
        f" {main['seed']['ledger rows']:,} ledger rows; 1,000 of them DRAFT, the rest approved or rejected),"
        " 3 locations, 2,000 articles, 5,000 batches with stock and surplus at every location; seeded"
        f" set-based in {main['seed']['total_seconds']:.0f} s. Approve runs use fresh 5-line DRAFT groups"
        " made just before the run; groups a run leaves DRAFT are deleted after it and pending_groups is"
        " vacuumed, so every run sees the same 1,000 pending.",
        "",
    ]
    cells = rows_by([r for r in runs if r.get("pred_locks_per_page") == setting], "workload", "connections")
    out += headline_section(cells, runs)
    out += ["", "## Acceptance (issue 18)", ""]
    out += table(["criterion", "measured", ""], [list(c) for c in acceptance(main, growth)])
    out += [
        "",
        "## Service beside pgbench",
        "",
        f"max_pred_locks_per_page = {setting}. Rates are requests (service) or transactions (pgbench) per",
        "second; latencies in ms; CPU is milliseconds of CPU per request, summed over the gunicorn workers",
        "(svc) and over all PostgreSQL processes (pg), measured in the service run. non-2xx counts every",
        "round's responses that were not 2xx (409 = already decided, 503 = retries ran out). RSS is the",
        "largest gunicorn worker seen during the workload's service runs. approve-pgbouncer is approve",
        "through a real PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer); its pgbench columns",
        "and ratio are pgbench approve's, which connects directly.",
        "",
        "Service latencies are raw per-request times, taken in the wrk script from each request to its",
        "response (matched by the X-Request-ID the service echoes), as pgbench's come from its",
        "per-transaction log. wrk's own percentiles, in `svc p99 (wrk)`, are corrected for coordinated",
        "omission: for every response slower than a connection's mean interval between requests, wrk 4",
        "adds samples down to that interval, so one 120 ms stall at 12 ms intervals counts ten times.",
        "Runs before 0e305c9 (History below) reported wrk's figures as the service's p50/p99.",
        "",
    ]
    rows = []
    for (workload, connections), row in sorted(
        cells.items(), key=lambda kv: (ORDER.index(kv[0][0]) if kv[0][0] in ORDER else len(ORDER), kv[0])
    ):
        # approve through PgBouncer is set beside pgbench approve (direct: pgbench has no pooler here)
        pg = cells.get(("approve", connections), row) if workload == "approve-pgbouncer" else row
        rows.append(
            [
                workload,
                str(connections),
                f(row.rate("svc")),
                f(pg.rate("pg")),
                f(row.ratio(pg), 2) + ("×" if pg.pg else ""),
                f(row.lat("svc", "p50"), 2),
                f(row.lat("svc", "p99"), 2),
                f(row.wrk_p99(), 2),
                f(pg.lat("pg", "p50"), 2),
                f(pg.lat("pg", "p99"), 2),
                f(row.cpu_ms("svc", "service_cpu_s"), 2),
                f(row.cpu_ms("svc", "postgres_cpu_s"), 2),
                f(pg.cpu_ms("pg", "postgres_cpu_s"), 2) if pg.pg else "–",
                str(sum(non2xx(r) for r in row.svc)),
                f(max((r.get("worker_rss_max_kb") or 0) for r in row.svc) / 1024, 0),
            ]
        )
    out += table(
        [
            "workload",
            "conns",
            "service req/s",
            "pgbench tps",
            "ratio",
            "svc p50",
            "svc p99",
            "svc p99 (wrk)",
            "pg p50",
            "pg p99",
            "svc CPU: workers",
            "svc CPU: pg",
            "pgbench CPU: pg",
            "non-2xx",
            "RSS MB",
        ],
        rows,
    )
    out += [
        "",
        "Reads against the no-database ceiling (service `GET /openapi.json`, same round):",
        "",
    ]
    out += table(
        ["workload", "8 conns", "32 conns"],
        [[w, *(f(paired_ratio(runs, w, "openapi", c), 2) + "×" for c in (8, 32))] for w in ("list", "get")],
    )
    out += growth_section(growth)
    out += rss_section(main)
    out += history_section(history)
    out += [
        "",
        "The run's diagnostics (predicate-lock comparison, PostgreSQL CPU by process, pg_stat_statements,",
        "HOT updates, the configuration sweep, plans) are written beside its results to",
        "`bench/out/benchmarks-details.md`, which the repository does not keep.",
    ]
    return "\n".join(out) + "\n"


def render_details(main: dict, sweeps: list[dict]) -> str:
    """bench/out/benchmarks-details.md: what a reader of one run looks at to explain its figures."""
    runs = main["runs"]
    setting = main_setting(runs)
    out = [
        "# Benchmark diagnostics",
        "",
        f"Run started {main['started']} on `{main['machine']['git_head']}`.",
    ]
    out += pred_section(runs, setting)
    out += background_section(runs, setting)
    out += statements_section(runs, setting)
    out += hot_section(main.get("table_stats", []))
    for n, sweep in enumerate(sweeps):
        out += sweep_section(sweep, earlier=n > 0)
    out += plans_section(main.get("plans", {}))
    return "\n".join(out) + "\n"


HISTORY_FIGURES = (
    "workers'",
    "approve",
    "approve p99",
    "approve-recent",
    "create",
    "mixed",
    "list",
    "get",
    "every",
)


def history_row(result: dict) -> dict:
    """One run's acceptance figures, as bench/history.json keeps them."""
    measured = {
        criterion.split(" ")[0] + (" p99" if "p99" in criterion else ""): value.split(" (")[0]
        for criterion, value, _ in acceptance(result, None)
    }
    return {
        "commit": result["machine"]["git_head"],
        "started": result["started"][:16].replace("T", " "),
        **{k: measured.get(k, "–") for k in HISTORY_FIGURES},
    }


def history_section(history: list[dict]) -> list[str]:
    """The acceptance figures of every `make bench` run kept in bench/history.json, oldest first."""
    if not history:
        return []
    out = [
        "",
        "## History",
        "",
        "The acceptance figures of `make bench` runs (bench/history.json), each from its own run on a",
        "shared machine; compare within a run, not across machines. Runs before issue 18 (cf392be) set",
        "approve-recent against pgbench approve and did not record the workers' CPU, create or mixed.",
        "",
    ]
    rows = [[f"`{h['commit']}`", h["started"], *(h.get(k, "–") for k in HISTORY_FIGURES)] for h in history]
    return out + table(
        [
            "commit",
            "started (UTC)",
            "workers' CPU per approval",
            "approve / pg",
            "approve p99 (svc vs pg)",
            "recent / pg",
            "create / pg",
            "mixed / pg",
            "list / ceiling",
            "get / ceiling",
            "worker RSS",
        ],
        rows,
    )


def background_section(runs: list[dict], setting) -> list[str]:
    """Per round, the reads' PostgreSQL CPU by kind of process: whether a round's slower read ran beside
    work of PostgreSQL's own (a checkpoint, autovacuum) or did more work in the backends itself."""
    reads = [
        r
        for r in runs
        if r["workload"] in ("list", "get")
        and r["connections"] == 8
        and r.get("pred_locks_per_page") == setting
        and r.get("postgres_cpu_by_kind_s")
        and r["requests"]
    ]
    if not reads:
        return []
    kinds = sorted({k for r in reads for k in r["postgres_cpu_by_kind_s"]} - {"client backend"})
    rows = [
        [
            r["workload"],
            r["side"],
            str(r["round"] + 1),
            f(r["rate"]),
            *(
                f(1000 * r["postgres_cpu_by_kind_s"].get(kind, 0.0) / r["requests"], 3)
                for kind in ["client backend", *kinds]
            ),
        ]
        for r in sorted(reads, key=lambda r: (r["workload"], r["side"], r["round"]))
    ]
    return [
        "",
        "## PostgreSQL's CPU during the reads, by process",
        "",
        "Milliseconds of CPU per request (per transaction for pgbench) of each kind of PostgreSQL process",
        "during each read run at 8 connections; `exited` is what processes that ended during the run used",
        "(pgbench's own backends, autovacuum workers).",
        "",
        *table(["workload", "side", "round", "req/s", "client backends", *kinds], rows),
    ]


def pred_section(runs: list[dict], setting) -> list[str]:
    cells = rows_by(
        [r for r in runs if r["workload"] in ("approve", "approve-recent")],
        "workload",
        "connections",
        "pred_locks_per_page",
    )
    settings = sorted({k[2] for k in cells})
    if len(settings) < 2:
        return []
    out = [
        "",
        "## Approval order and max_pred_locks_per_page",
        "",
        "approve = pool groups in scattered order; approve-recent = in creation order (neighbouring groups,",
        "whose lines share heap and index pages, approved at the same time). recent/scattered is the ratio",
        "of the medians. Serialization failures come from the server log, per 1000 requests: `ssi` = could",
        "not serialize … read/write dependencies (predicate locks), `update` = … concurrent update (two",
        "approvals moving the same balance row). The service retries them (up to 8 attempts, jittered",
        "backoff), pgbench retries them too (--max-tries=8, no backoff).",
        "",
    ]
    rows = []
    for s in settings:
        for c in sorted({k[1] for k in cells}):
            scattered, recent = cells.get(("approve", c, s)), cells.get(("approve-recent", c, s))
            if not (scattered and recent):
                continue
            for side, label in (("svc", "service"), ("pg", "pgbench")):
                rows.append(
                    [
                        str(s) + (" (embedded cluster)" if s == setting else " (PostgreSQL default)"),
                        str(c),
                        label,
                        f(scattered.rate(side)),
                        f(recent.rate(side)),
                        f(recent.rate(side) / scattered.rate(side), 2) + "×",
                        f(scattered.per_k(side, "ssi"), 0) + " / " + f(recent.per_k(side, "ssi"), 0),
                        f(scattered.per_k(side, "update"), 0) + " / " + f(recent.per_k(side, "update"), 0),
                        (
                            f"{sum(status(r, 409) for r in recent.svc)} / "
                            f"{sum(status(r, 503) for r in recent.svc)}"
                            if side == "svc"
                            else "–"
                        ),
                        f(scattered.lat(side, "p99"), 1) + " / " + f(recent.lat(side, "p99"), 1),
                    ]
                )
    out += table(
        [
            "max_pred_locks_per_page",
            "conns",
            "side",
            "scattered /s",
            "recent /s",
            "recent/scattered",
            "ssi per 1k (sc / rec)",
            "update per 1k (sc / rec)",
            "recent 409 / 503",
            "p99 ms (sc / rec)",
        ],
        rows,
    )
    return out


def growth_section(growth: dict | None, earlier: bool = False) -> list[str]:
    title = "An earlier growth run" if earlier else "## Growth: cost against the size of history"
    out = ["", title, ""]
    if not growth:
        return [*out, "Not measured yet: `make bench-growth` (10k, 100k and 1M groups; about 10 minutes)."]
    g = growth_table(growth)
    sizes = sorted({k[1] for k in g})
    out += [
        f"From `make bench-growth` on commit `{growth['machine']['git_head']}`, started {growth['started']}"
        f" ({growth['wall_seconds'] / 60:.1f} min): 8"
        f" connections, {growth['seconds']:g} s runs, median of {max(r['round'] for r in growth['runs']) + 1}"
        " rounds; each size seeded fresh ("
        + ", ".join(f"{int(k):,}: {v['total_seconds']:.0f} s" for k, v in growth["seed"].items())
        + "). p50 in ms; × = against the 10k figure.",
        "",
    ]
    rows = []
    for workload in ("approve", "list", "get"):
        for side, label in (("svc", "service"), ("pg", "pgbench")):
            base = g.get((workload, sizes[0]))
            cells = []
            for size in sizes:
                row = g.get((workload, size))
                p50 = row.lat(side, "p50") if row else float("nan")
                cells.append(f"{f(p50, 2)} ({p50 / base.lat(side, 'p50'):.2f}×)" if base else f(p50, 2))
            rows.append([workload, label, *cells])
    out += table(["workload", "side", *(f"p50 at {s:,}" for s in sizes)], rows)
    return out


def rss_section(main: dict) -> list[str]:
    rss = main.get("rss_max_kb", {})
    if not rss:
        return []
    values = sorted(rss.values(), reverse=True)
    return [
        "",
        "## Worker memory",
        "",
        "VmRSS of every gunicorn worker sampled every 0.25 s through the whole run:"
        f" max {values[0] / 1024:.0f} MB"
        f" ({len(values)} workers: " + ", ".join(f"{v / 1024:.0f}" for v in values) + " MB).",
    ]


def statements_section(runs: list[dict], setting) -> list[str]:
    out = [
        "",
        "## Inside PostgreSQL: the same statements from the service and from pgbench",
        "",
        "pg_stat_statements over the first round at 8 connections: mean execution and planning time per",
        "call.",
        "A planning time on every call means a custom plan each time (psycopg prepares a statement on its",
        "sixth use per connection; until then, and for custom plans, the planner runs per call).",
        "",
    ]
    rows = []
    for run in runs:
        if run["round"] == 0 and run["connections"] == 8 and run.get("pred_locks_per_page") == setting:
            for s in run.get("statements", [])[:3]:
                rows.append(
                    [
                        run["workload"],
                        run["side"],
                        str(s["calls"]),
                        f(s["exec_ms"], 3),
                        f(s["plan_ms"], 3),
                        str(s["plans"]),
                        "`" + s["query"].replace("|", "\\|")[:70] + "…`",
                    ]
                )
    return out + table(["workload", "side", "calls", "exec ms", "plan ms", "plans", "statement"], rows)


def hot_section(stats: list[dict]) -> list[str]:
    if not stats:
        return []
    out = [
        "",
        "## HOT updates over the whole run",
        "",
        "An update that is not HOT (heap-only tuple) inserts a new entry into every index of the table;",
        "under SERIALIZABLE that insert conflicts with every concurrent transaction holding a predicate lock",
        "on the index page it lands on (B-tree predicate locks are page-level).",
        "",
    ]
    rows = [
        [
            s["table"],
            str(s["fillfactor"]),
            f"{s['updates']:,}",
            f"{s['hot_updates']:,}",
            f(100 * s["hot_updates"] / s["updates"], 0) + "%" if s["updates"] else "–",
        ]
        for s in stats
    ]
    return out + table(["table", "fillfactor", "updates", "HOT updates", "HOT"], rows)


def sweep_section(sweep: dict | None, earlier: bool = False) -> list[str]:
    title = "An earlier sweep" if earlier else "## Configuration sweep: workers × threads × pool"
    out = ["", title, ""]
    if not sweep:
        return [*out, "Not measured yet: `python -m bench.run --sweep`."]
    cells = rows_by(sweep["runs"], "workers", "threads", "pool", "workload", "connections")
    configs = sorted({k[:3] for k in cells})
    workloads = sorted(
        {(k[3], k[4]) for k in cells}, key=lambda x: (["get", "approve", "create"].index(x[0]), x[1])
    )
    out += [
        f"From `python -m bench.run --sweep`, started {sweep['started']}: service only,"
        f" {sweep['seconds']:g} s"
        f" runs, median of {max(r['round'] for r in sweep['runs']) + 1} rounds; req/s (p99 ms).",
        "",
    ]
    rows = []
    for config in configs:
        cls = "sync" if config[1] == 1 else "gthread"
        row = [f"{config[0]} × {config[1]} ({cls}), pool {config[2]}"]
        for w in workloads:
            cell = cells.get((*config, *w))
            row.append(f"{f(cell.rate('svc'), 0)} ({f(cell.lat('svc', 'p99'), 1)})" if cell else "–")
        rows.append(row)
    return out + table(["workers × threads, pool", *(f"{w} c={c}" for w, c in workloads)], rows)


def plans_section(plans: dict[str, str]) -> list[str]:
    if not plans:
        return []
    out = [
        "",
        "## Plans of the hot statements",
        "",
        "EXPLAIN (ANALYZE, BUFFERS) with the service's parameters at the end of the run (writes rolled",
        "back).",
        "",
    ]
    for name, plan in plans.items():
        out += [f"<details><summary>{name}</summary>", "", "```", plan, "```", "", "</details>", ""]
    return out


def console_summary(result: dict) -> list[str]:
    if result.get("mode") != "main":
        return []
    return [
        f"{verdict:<4}  {criterion}: {measured}" for criterion, measured, verdict in acceptance(result, None)
    ]
