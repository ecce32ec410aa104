"""The benchmark: the service beside PostgreSQL running the same SQL (pgbench), side by side in one run.

    python -m bench.run             # `make bench`: N = BENCH_GROUPS (default 100k), writes docs/benchmarks.md
    python -m bench.run --growth    # `make bench-growth`: approve and list at 10k, 100k and 1M groups
    python -m bench.run --sweep     # workers x threads x pool, to choose the service's configuration

Every mode starts its own throwaway cluster (a temporary folder, a free port), seeds it set-based, starts
the service with `weighin serve`, drives it with wrk over loopback and runs pgbench in the same round, and
stops everything it started on the way out. Results land in bench/results/*.json; docs/benchmarks.md is
rendered from them (bench/report.py).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from service import migrations
from service.cli import create_user
from service.config import Config
from service.embedded import find_bindir
from service.pooler import LocalPgBouncer
from service.statements import Statements

from . import capabilities, pgscripts, reads, report, seed, upkeep
from .drivers import Observer, ensure_wrk, run_pgbench, run_wrk, wrk_script
from .procs import ROOT, Cluster, Service

RESULTS = ROOT / "bench" / "results"
HISTORY = ROOT / "bench" / "history.json"
DETAILS = ROOT / "bench" / "out" / "benchmarks-details.md"
DOC = ROOT / "docs" / "benchmarks.md"

# The service's defaults, which README's Production section recommends (2 gthread workers of 2 threads,
# 2 connections each). Issue 18's sweep of gthread workers x threads (docs/performance.md): the workers'
# CPU per request came out the same in every shape (approve 0.55-0.58 ms, get 0.39-0.42), and 2 x 2
# booked the most (approve 879/s, 0.60x pgbench, p99 18 ms) with list and get as fast as any.
WORKERS, THREADS, POOL = Config.web_concurrency, Config.threads, Config.db_pool_size

# workload: (wrk Lua files, pgbench scripts with weights, pool of DRAFT groups per request)
WORKLOADS = {
    "openapi": (["openapi.lua"], None, 0.0),
    "list": (["list.lua"], [("list", 1)], 0.0),
    "get": (["get.lua"], [("get", 1)], 0.0),
    "login": (["login.lua"], None, 0.0),
    "create": (["create.lua"], [("create", 1)], 0.0),
    "approve": (["approve.lua"], [("approve", 1)], 1.0),
    "approve-recent": (["approve.lua"], [("recent", 1)], 1.0),
    # approve through a real PgBouncer in transaction mode (DATABASE_POOLER=pgbouncer), beside the direct one
    "approve-pgbouncer": (["approve.lua"], [], 1.0),
    "transfer": (["transfer.lua"], [("transfer", 1)], 0.0),  # not in MAIN_ORDER: --workloads transfer
    "mixed": (
        ["approve.lua", "create.lua", "mixed.lua"],
        [("approve", 2), ("create", 4), ("list", 7), ("get", 7)],
        0.1,
    ),
    **reads.WORKLOADS,  # the stock reads of SPEC §10; not in MAIN_ORDER
}
MAIN_ORDER = [workload for workload in report.ORDER if workload != "transfer"]
# First guesses of requests per second, to size the approve pools; replaced by what each run measured.
GUESS = {"service": 1000.0, "pgbench": 2000.0}


def log(message: str) -> None:
    print(message, flush=True)


def stride_for(size: int) -> int:
    """A multiplier coprime to `size` near its golden section: k -> k*stride mod size scatters neighbours."""
    stride = max(1, int(size * 0.618))
    while math.gcd(stride, size) != 1:
        stride += 1
    return stride


class Bench:
    def __init__(self, cluster: Cluster, database: str, groups: int, seconds: float, workdir: Path):
        self.cluster = cluster
        self.database = database
        self.url = cluster.url(database)
        self.groups = groups
        self.seconds = seconds
        self.workdir = workdir
        self.wrk = ensure_wrk()
        self.pgbench = str(find_bindir() / "pgbench")
        self.sql = Statements()
        self.rates: dict[tuple, float] = {}
        self.tag = int(time.time()) % 100_000 * 100
        self.service: Service | None = None
        self.other: Service | None = None  # the service not in use: direct or through PgBouncer
        self.bouncer: LocalPgBouncer | None = None
        self.pooled_now = False
        self.observer = Observer(cluster.url(database), cluster.postmaster_pid(), cluster.log)
        self.url_parts = {
            "host": "127.0.0.1",
            "port": cluster.cluster.port,
            "user": "postgres",
            "dbname": database,
        }
        self.scripts: dict[str, Path] = {}
        self.rss_kb: dict[int, int] = {}

    # --- setup ---------------------------------------------------------------------------------------

    def prepare(self) -> dict:
        self.cluster.cluster.create_database(self.database)
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        migrations.migrate(self.url)
        self.admin_id = create_user(self.url, "bench_admin", seed.PASSWORDS["bench_admin"], "ADMIN")["id"]
        operator = create_user(self.url, "bench_operator", seed.PASSWORDS["bench_operator"], "OPERATOR")["id"]
        made = seed.seed(self.url, self.groups, self.admin_id, operator, log=log)
        self.write_scripts()
        return made

    def write_scripts(self) -> None:
        texts = {
            "approve": pgscripts.approve_script(self.sql, "scattered"),
            "recent": pgscripts.approve_script(self.sql, "recent"),
            "create": pgscripts.create_script(self.sql),
            "list": pgscripts.list_script(self.sql),
            "get": pgscripts.get_script(self.sql),
            "transfer": pgscripts.transfer_script(self.sql),
        }
        for name, text in texts.items():
            path = self.workdir / f"pgbench-{name}.sql"
            path.write_text(text)
            self.scripts[name] = path

    def start_service(self, workers: int = WORKERS, threads: int = THREADS, pool: int = POOL) -> None:
        self.stop_service()
        self.service = Service(self.url, workers, threads, pool, self.workdir).start()
        self.token = self.service.login("bench_admin", seed.PASSWORDS["bench_admin"])
        # warm-up, not recorded: every worker's pool connections open and its statements get prepared
        for workload in ("get", "list"):
            run_wrk(
                self.wrk,
                self.service.base,
                wrk_script(WORKLOADS[workload][0], self.workdir),
                [self.token, self.groups] if workload == "get" else [self.token],
                8,
                2,
            )

    def through_pgbouncer(self, pooled: bool) -> None:
        """Make `self.service` the one through PgBouncer (pooled) or the direct one; the pooled one (same
        settings, DATABASE_POOLER=pgbouncer, a pooler with as many server connections as a service's
        workers have pool connections) starts on first use and keeps running beside the direct one."""
        if pooled == self.pooled_now:
            return
        if self.bouncer is None:
            s = self.service
            self.bouncer = LocalPgBouncer(self.url, pool_size=s.workers * s.pool).start()
            url = self.bouncer.url(self.url)
            second = Service(url, s.workers, s.threads, s.pool, self.workdir, DATABASE_POOLER="pgbouncer")
            self.other = second.start()
        self.service, self.other = self.other, self.service
        self.pooled_now = pooled

    def stop_pgbouncer(self) -> None:
        self.through_pgbouncer(False)
        if self.other:
            self.other.stop()
        if self.bouncer:
            self.bouncer.stop()
        self.other = self.bouncer = None

    def stop_service(self) -> None:
        if self.service:
            self.service.stop()
            if self.service.sampler:
                for pid, kb in self.service.sampler.max_kb.items():
                    self.rss_kb[pid] = max(self.rss_kb.get(pid, 0), kb)
            self.service = None

    def set_pred_locks_per_page(self, value: int) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET max_pred_locks_per_page = {int(value)}")
            conn.execute("SELECT pg_reload_conf()")
            time.sleep(0.5)
            shown = conn.execute("SHOW max_pred_locks_per_page").fetchone()[0]
        if int(shown) != value:
            raise RuntimeError(f"max_pred_locks_per_page is {shown}, wanted {value}")

    # --- one measured run ----------------------------------------------------------------------------

    def run(self, workload: str, side: str, connections: int, **labels) -> dict:
        result = self._run(workload, side, connections, 2.0)
        if result.get("pool", {}).get("exhausted"):
            log(f"  ({workload} {side} c={connections} ran out of pool groups: again with a larger pool)")
            result = self._run(workload, side, connections, 4.0)
        result.update(workload=workload, side=side, connections=connections, **labels)
        return result

    def _run(self, workload: str, side: str, connections: int, margin: float) -> dict:
        lua, pg, per_request = WORKLOADS[workload]
        with psycopg.connect(self.url, autocommit=True) as conn:
            mark = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM draft_groups").fetchone()[0]
            pool = None
            if per_request:
                rate = max(self.rates.get((workload, side, connections), 0.0), GUESS[side] / 2)
                size = int(margin * rate * per_request * self.seconds) + 300
                lo, size = seed.make_pool(conn, size, self.admin_id)
                pool = (lo, size, stride_for(size))
        self.tag += 1
        self.observer.begin(self.service if side == "service" else None)
        if side == "service":
            result = self._wrk(workload, lua, connections, pool)
            result["drain_seconds"] = round(self.service.wait_idle(), 2)
        else:
            scripts = [(self.scripts[name], weight) for name, weight in pg]
            defines = pgscripts.defines(self.admin_id, connections, self.groups, self.tag, pool)
            result = run_pgbench(self.pgbench, self.url_parts, scripts, defines, connections, self.seconds)
        result.update(self.observer.end())
        approvals = None
        with psycopg.connect(self.url, autocommit=True) as conn:
            if pool:
                approvals = conn.execute(
                    "SELECT count(*) FROM draft_groups WHERE id BETWEEN %s AND %s AND status = 'APPROVED'",
                    (pool[0], pool[0] + pool[1] - 1),
                ).fetchone()[0]
            result["tidied"] = upkeep.tidy(conn, mark)
            if pool or workload == "create":
                # the run added thousands of pending_groups entries and removed them (approved or deleted):
                # vacuum their dead rows, so the next run's DRAFT list counts the same small table rather
                # than whatever autovacuum has not reached yet (schemas before 0006: the status index)
                if seed.has_pending_set(conn):
                    conn.execute("VACUUM pending_groups")
                else:
                    conn.execute("VACUUM (INDEX_CLEANUP ON) draft_groups")
            result["maintenance"] = upkeep.maintain(conn)
        if pool:
            attempts = (result["requests"] + result.get("failed", 0)) * per_request
            self.rates[(workload, side, connections)] = attempts / result["seconds"] / per_request
            # a wrk thread (or pgbench client) that ran ahead of the others laps the pool before the total
            # reaches its size, and its requests find decided groups (409, or not_draft for pgbench),
            # cheap answers that would count as approvals: fewer approved than attempted is exhausted too
            lapped = approvals < 0.998 * attempts  # at 1%, 53 of 5,834 slipped by
            exhausted = attempts >= 0.97 * pool[1] or lapped
            result["pool"] = {"size": pool[1], "approved": approvals, "exhausted": exhausted}
        return result

    def _wrk(self, workload: str, lua: list[str], connections: int, pool) -> dict:
        script = wrk_script(lua, self.workdir)
        history = self.groups
        args = {
            "openapi": ["-"],
            "list": [self.token],
            "get": [self.token, history],
            "login": ["-", "bench_admin", seed.PASSWORDS["bench_admin"]],
            "create": [self.token, self.tag],
            "approve": [self.token, *(pool or ())[:3], "scattered"],
            "approve-recent": [self.token, *(pool or ())[:3], "recent"],
            "approve-pgbouncer": [self.token, *(pool or ())[:3], "scattered"],
            "transfer": [self.token],
            "mixed": [self.token, history, *(pool or ())[:3], self.tag],
        }.get(workload) or [self.token, reads.path(workload)]
        return run_wrk(self.wrk, self.service.base, script, args, connections, self.seconds)

    def pair(self, workload: str, connections: int, order: int, **labels) -> list[dict]:
        """The service run and, where there is one, the pgbench run of the same workload, back to back
        (which goes first alternates between rounds)."""
        sides = ["service", "pgbench"] if WORKLOADS[workload][1] else ["service"]
        if order % 2:
            sides.reverse()
        out = []
        for side in sides:
            result = self.run(workload, side, connections, **labels)
            log(
                f"  {workload:<15} c={connections:<3} {side:<8} {result['rate']:9.1f}/s  "
                f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms"
                + (
                    f"  retries {result.get('retries', 0)}"
                    if side == "pgbench"
                    else f"  statuses {result['statuses']}"
                )
            )
            out.append(result)
        return out

    # --- diagnostics ---------------------------------------------------------------------------------

    def table_stats(self) -> list[dict]:
        """Updates and HOT updates of the tables approvals write, over the whole run: a non-HOT update
        inserts new index entries, which is what conflicts with other SERIALIZABLE transactions'
        page-level predicate locks on those index pages."""
        time.sleep(1.0)
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(TABLE_STATS).fetchall()
        return [dict(zip(("table", "updates", "hot_updates", "fillfactor"), r, strict=True)) for r in rows]

    def explain(self) -> dict[str, str]:
        """EXPLAIN (ANALYZE, BUFFERS) of each hot statement with the parameters the service sends; the
        writes run in a transaction that is rolled back."""
        plans = {}
        viewer = {"viewer_id": self.admin_id, "viewer_is_admin": True}
        listing, counting, with_status = pgscripts.list_statements(self.sql)
        filters = {"source": None, "location_id": None, "created_by": None}
        if with_status:
            filters["status"] = "DRAFT"
        with psycopg.connect(self.url, autocommit=True, prepare_threshold=None) as conn:
            mark = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM draft_groups").fetchone()[0]
            lo, _ = seed.make_pool(conn, 1, self.admin_id)
            lines = [
                {
                    "n": n,
                    "article_id": seed.batch_article(b),
                    "batch_id": b,
                    "quantity_kg": "1.25",
                    "client_event_id": f"explain-{self.tag}-{n}",
                    "note": None,
                    "draft_type": "WEIGH_IN",
                }
                for n, b in enumerate((11, 222, 3333, 4444, 4999))
            ]
            cases = {
                "approve_group": (
                    self.sql.approve_group,
                    {"group_id": lo, "draft_id": None, "actor_id": self.admin_id, "note": None},
                ),
                "create_group": (
                    self.sql.create_group,
                    {
                        "lines": json.dumps(lines),
                        "location_id": None,
                        "default_location_code": "13",
                        "name": None,
                        "name_prefix": "AdminDraft",
                        "source": "ui_admin",
                        "user_id": self.admin_id,
                        "whole_group": True,
                    },
                ),
                "list (status=DRAFT)": (listing, {**filters, "after_id": None, "limit": 51}),
                **({"count (status=DRAFT)": (counting, filters)} if counting else {}),
                "group_detail": (
                    self.sql.group_detail,
                    {"group_id": self.groups // 2, "draft_id": None, "client_event_id": None, **viewer},
                ),
            }
            for name, (statement, params) in cases.items():
                for mode in ("custom", "generic"):
                    conn.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
                    if name == "approve_group":  # as on the service's SERIALIZABLE sessions
                        conn.execute("SET LOCAL enable_seqscan = off")
                    try:
                        if mode == "custom":
                            rows = conn.execute(EXPLAIN + statement, params).fetchall()
                        else:
                            prepare, execute = as_prepared(statement, params)
                            conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
                            conn.execute(prepare)
                            rows = conn.execute(EXPLAIN + execute).fetchall()
                        plans[f"{name} ({mode} plan)"] = "\n".join(r[0] for r in rows)
                    finally:
                        conn.execute("ROLLBACK")
                        if mode == "generic":
                            conn.execute("DEALLOCATE hot")
            upkeep.tidy(conn, mark)
        return plans


EXPLAIN = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "


def as_prepared(statement: str, params: dict) -> tuple[str, str]:
    """PREPARE / EXECUTE texts for `statement`: what the service runs once psycopg has prepared it (its
    sixth use on a connection) and PostgreSQL has settled on a generic plan. Integers are bigint, the
    rest is inferred from the statement, as for psycopg's untyped strings and NULLs."""
    names: list[str] = []

    def number(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    body = re.sub(r"%\((\w+)\)s", number, statement)

    def literal(value) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        return "'" + str(value).replace("'", "''") + "'"

    types = ", ".join(
        "bigint" if isinstance(params[n], int) and not isinstance(params[n], bool) else "unknown"
        for n in names
    )
    args = ", ".join(literal(params[n]) for n in names)
    return f"PREPARE hot ({types}) AS {body}", f"EXECUTE hot ({args})"


TABLE_STATS = """
SELECT s.relname, s.n_tup_upd, s.n_tup_hot_upd,
       coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'fillfactor'), '100')
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.relname IN ('stock', 'surplus', 'weigh_in_drafts', 'draft_groups')
ORDER BY s.relname
"""


# --- modes -------------------------------------------------------------------------------------------


def machine(cluster_url: str) -> dict:
    with psycopg.connect(cluster_url) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.machine(),
    )
    versions = {}
    for package in ("falcon", "gunicorn", "psycopg", "psycopg-pool", "msgspec"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = "?"
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "status",
            "--porcelain",
            "--",
            "service",
            "sql",
            "migrations",
            "gunicorn.conf.py",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "postgresql": pg_version,
        "python": platform.python_version(),
        "packages": versions,
        "wrk": wrk.strip(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "git_head": head,
        "app_tree_dirty": bool(dirty),
    }


def main_mode(args, cluster: Cluster, workdir: Path) -> dict:
    bench = Bench(cluster, "bench", args.groups, args.seconds, workdir)
    result: dict = {"mode": "main", "started": datetime.now(UTC).isoformat(timespec="seconds")}
    result["machine"] = machine(cluster.url("postgres"))
    try:
        log(f"seeding {args.groups:,} groups of history …")
        result["seed"] = bench.prepare()
        log(f"  {result['seed']}")
        bench.start_service(args.workers, args.threads, args.pool)
        result["service"] = {
            "workers": args.workers,
            "threads": args.threads,
            "pool": args.pool,
            "worker_class": "gthread",  # gunicorn.conf.py: always, for keep-alive
        }
        result["settings"] = cluster.effective_settings
        result["seconds"] = args.seconds
        runs = []
        for round_no in range(args.rounds):
            log(f"round {round_no + 1}/{args.rounds}")
            for workload in args.workloads:
                bench.through_pgbouncer(workload == "approve-pgbouncer")
                for connections in args.connections:
                    runs += bench.pair(
                        workload,
                        connections,
                        round_no,
                        round=round_no,
                        pred_locks_per_page=int(cluster.effective_settings["max_pred_locks_per_page"]),
                    )
        bench.stop_pgbouncer()
        if args.pred_compare:
            default = 2  # PostgreSQL's own default
            bench.set_pred_locks_per_page(default)
            log(f"max_pred_locks_per_page = {default} (PostgreSQL's default)")
            for round_no in range(args.pred_rounds):
                for workload in ("approve", "approve-recent"):
                    for connections in args.connections:
                        runs += bench.pair(
                            workload, connections, round_no, round=round_no, pred_locks_per_page=default
                        )
            bench.set_pred_locks_per_page(int(cluster.effective_settings["max_pred_locks_per_page"]))
        result["runs"] = runs
        result["plans"] = bench.explain()
        bench.stop_service()  # its backends flush their statistics as they exit
        result["table_stats"] = bench.table_stats()
    finally:
        bench.stop_pgbouncer()
        bench.stop_service()
    result["rss_max_kb"] = {str(pid): kb for pid, kb in bench.rss_kb.items()}
    return result


def growth_mode(args, cluster: Cluster, workdir: Path) -> dict:
    result: dict = {
        "mode": "growth",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(cluster.url("postgres")),
        "seconds": args.seconds,
        "runs": [],
        "seed": {},
    }
    for groups in args.sizes:
        database = f"bench_{groups}"
        bench = Bench(cluster, database, groups, args.seconds, workdir)
        try:
            log(f"seeding {groups:,} groups of history …")
            result["seed"][str(groups)] = bench.prepare()
            log(f"  {result['seed'][str(groups)]}")
            bench.start_service(args.workers, args.threads, args.pool)
            for round_no in range(args.rounds):
                for workload in ("approve", "list", "get"):
                    result["runs"] += bench.pair(workload, 8, round_no, round=round_no, groups=groups)
        finally:
            bench.stop_service()
        with psycopg.connect(cluster.url("postgres"), autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {database} WITH (FORCE)")
    return result


def capabilities_mode(args, cluster: Cluster, workdir: Path) -> dict:
    """SPEC §10's workloads (bench/capabilities.py's PLAN), each round in the plan's order."""
    bench = Bench(cluster, "bench", args.groups, args.seconds, workdir)
    result: dict = {"mode": "capabilities", "started": datetime.now(UTC).isoformat(timespec="seconds")}
    result["machine"] = machine(cluster.url("postgres"))
    result["seconds"] = args.seconds
    try:
        log(f"seeding {args.groups:,} groups of history …")
        result["seed"] = bench.prepare()
        bench.start_service(args.workers, args.threads, args.pool)
        runs = []
        for round_no in range(args.rounds):
            log(f"round {round_no + 1}/{args.rounds}")
            for workload, connections in capabilities.PLAN:
                runs += bench.pair(workload, connections, round_no, round=round_no)
        result["runs"] = runs
    finally:
        bench.stop_service()
    return result


SWEEP = [(3, 1, 1), (4, 1, 1), (6, 1, 1), (8, 1, 1), (2, 4, 4), (2, 8, 4), (4, 4, 4)]


def sweep_mode(args, cluster: Cluster, workdir: Path) -> dict:
    bench = Bench(cluster, "bench", args.groups, args.seconds, workdir)
    result: dict = {
        "mode": "sweep",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(cluster.url("postgres")),
        "seconds": args.seconds,
        "runs": [],
    }
    try:
        result["seed"] = bench.prepare()
        for round_no in range(args.rounds):
            for workers, threads, pool in SWEEP:
                bench.start_service(workers, threads, pool)
                log(f"workers={workers} threads={threads} pool={pool}")
                for workload in ("get", "approve", "create"):
                    for connections in args.connections:
                        run = bench.run(
                            workload,
                            "service",
                            connections,
                            round=round_no,
                            workers=workers,
                            threads=threads,
                            pool=pool,
                        )
                        log(
                            f"  {workload:<8} c={connections:<3} {run['rate']:8.1f}/s"
                            f" p50 {run['p50_ms']:6.2f} p99 {run['p99_ms']:7.2f} ms"
                        )
                        result["runs"].append(run)
                bench.stop_service()
    finally:
        bench.stop_service()
    return result


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--growth", action="store_true", help="approve and list at each of --sizes")
    mode.add_argument("--sweep", action="store_true", help="compare workers/threads/pool settings")
    mode.add_argument("--capabilities", action="store_true", help="SPEC §10: transfer and the stock reads")
    p.add_argument(
        "--groups",
        type=int,
        default=int(os.environ.get("BENCH_GROUPS", "100000")),
        help="groups of history (env BENCH_GROUPS; 10000, 100000 or 1000000)",
    )
    p.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000, 1_000_000]
    )
    p.add_argument("--seconds", type=float, default=float(os.environ.get("BENCH_SECONDS", "5")))
    p.add_argument("--rounds", type=int, default=int(os.environ.get("BENCH_ROUNDS", "3")))
    p.add_argument("--pred-rounds", type=int, default=int(os.environ.get("BENCH_PRED_ROUNDS", "3")))
    p.add_argument(
        "--no-pred-compare",
        dest="pred_compare",
        action="store_false",
        help="skip approve/approve-recent at max_pred_locks_per_page = 2",
    )
    p.add_argument("--connections", type=lambda s: [int(x) for x in s.split(",")], default=[8, 32])
    p.add_argument("--workloads", type=lambda s: s.split(","), default=MAIN_ORDER)
    p.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", WORKERS)))
    p.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", THREADS)))
    p.add_argument("--pool", type=int, default=int(os.environ.get("BENCH_POOL", POOL)))
    p.add_argument("--out", type=Path, default=DOC, help="the report (default docs/benchmarks.md)")
    p.add_argument("--no-save", dest="save", action="store_false", help="do not write bench/results/*.json")
    args = p.parse_args(argv)
    unknown = set(args.workloads) - set(WORKLOADS)
    if unknown:
        p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks stop what we started
    started = time.monotonic()
    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="weighin-bench-"))
    cluster = Cluster().start()
    try:
        modes = [(args.growth, growth_mode), (args.sweep, sweep_mode), (args.capabilities, capabilities_mode)]
        mode = next((chosen for wanted, chosen in modes if wanted), main_mode)
        result = mode(args, cluster, workdir)
    except BaseException:
        log(f"bench: failed; the service's log and the generated scripts are in {workdir}")
        raise
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        cluster.stop()
    result["wall_seconds"] = round(time.monotonic() - started, 1)
    name = mode.__name__.removesuffix("_mode").replace("main", "bench")
    if args.save:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1, default=str) + "\n")
        if mode is main_mode:
            remember(report.history_row(result))
    main_result = result if mode is main_mode else load(RESULTS / "bench.json") if args.save else None
    if main_result is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        rendered = report.render(main_result, load(RESULTS / "growth.json"), history())
        args.out.write_text(
            rendered + "\n".join(capabilities.section(load(RESULTS / "capabilities.json"))) + "\n"
        )
        DETAILS.parent.mkdir(parents=True, exist_ok=True)
        DETAILS.write_text(report.render_details(main_result, sweeps()))
        log(f"wrote {args.out} and {DETAILS}")
    log(f"bench finished in {result['wall_seconds'] / 60:.1f} min")
    for line in report.console_summary(result):
        log(line)


def history() -> list[dict]:
    """The acceptance figures of every kept `make bench` run, oldest first (bench/history.json)."""
    return json.loads(HISTORY.read_text()) if HISTORY.exists() else []


def remember(row: dict) -> None:
    """Adds a run's acceptance figures to bench/history.json (the raw results are not kept: each run
    overwrites bench/results/<kind>.json)."""
    rows = [h for h in history() if (h["commit"], h["started"]) != (row["commit"], row["started"])]
    HISTORY.write_text(json.dumps([*rows, row], indent=1) + "\n")


def sweeps() -> list[dict]:
    """The latest sweep."""
    return [s for s in (load(RESULTS / "sweep.json"),) if s]


def load(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


if __name__ == "__main__":
    main()
