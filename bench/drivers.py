"""The two load generators: wrk (Lua scripts in bench/lua) against the service, pgbench (scripts generated
from sql/) against PostgreSQL; plus what both runs are measured by on the server side (CPU, error log,
pg_stat_statements)."""

from __future__ import annotations

import json
import re
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path

import psycopg

LUA = Path(__file__).resolve().parent / "lua"
WRK_THREADS = 2
PGBENCH_THREADS = 2


def ensure_wrk() -> str:
    """wrk from Debian's package, installed when missing (the bench runs as root on these machines)."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: apt-get install -y wrk", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        subprocess.run(["apt-get", "update", "-q"], check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("bench: wrk could not be installed (apt-get install wrk)")
    return found


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * (len(sorted_values) - 1))))
    return sorted_values[index]


def wrk_script(parts: list[str], workdir: Path) -> Path:
    """common.lua followed by the workload's files, as one script (wrk loads a single file)."""
    text = "\n".join((LUA / name).read_text() for name in ["common.lua", *parts])
    path = workdir / ("wrk-" + "-".join(p.removesuffix(".lua") for p in parts) + ".lua")
    path.write_text(text)
    return path


def run_wrk(wrk: str, base: str, script: Path, args: list[str], connections: int, seconds: float) -> dict:
    threads = min(WRK_THREADS, connections)
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(seconds)}s",
        "--timeout",
        "15s",
        "-s",
        str(script),
        base,
        "--",
        *map(str, args),
        str(threads),
    ]
    cpu = children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    client_cpu = children_cpu() - cpu
    match = re.search(r"^BENCH_RESULT (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or not match:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr[-1500:]} {done.stdout[-1500:]}")
    raw = json.loads(match.group(1))
    elapsed = raw["duration_us"] / 1e6
    statuses = {int(k): v for k, v in raw["statuses"].items()}
    errors = raw["errors"]
    # percentiles of the raw per-request times the Lua script took (as pgbench's log gives them); wrk's
    # own, corrected for coordinated omission, are kept beside them
    timed = raw["raw_latency_us"]
    return {
        "rate": raw["requests"] / elapsed,
        "requests": raw["requests"],
        "seconds": elapsed,
        "p50_ms": timed["p50"] / 1000,
        "p90_ms": timed["p90"] / 1000,
        "p99_ms": timed["p99"] / 1000,
        "max_ms": timed["max"] / 1000,
        "timed_requests": timed["n"],
        "wrk_p50_ms": raw["latency_us"]["p50"] / 1000,
        "wrk_p99_ms": raw["latency_us"]["p99"] / 1000,
        "statuses": statuses,
        "socket_errors": errors["connect"] + errors["read"] + errors["write"] + errors["timeout"],
        "client_cpu_s": client_cpu,
    }


def run_pgbench(
    pgbench: str,
    url_parts: dict,
    scripts: list[tuple[Path, int]],
    defines: dict,
    connections: int,
    seconds: float,
) -> dict:
    """pgbench in prepared mode; p50/p99 from its per-transaction log."""
    logdir = Path(tempfile.mkdtemp(prefix="pgbench-log-"))
    command = [
        pgbench,
        "-n",
        "-M",
        "prepared",
        "-c",
        str(connections),
        "-j",
        str(min(PGBENCH_THREADS, connections)),
        "-T",
        str(int(seconds)),
        "--max-tries=8",  # the service's Database.max_attempts
        "--failures-detailed",
        "--log",
        f"--log-prefix={logdir}/tx",
        "-h",
        url_parts["host"],
        "-p",
        str(url_parts["port"]),
        "-U",
        url_parts["user"],
    ]
    for path, weight in scripts:
        command += ["-f", f"{path}@{weight}"]
    for name, value in defines.items():
        command += ["-D", f"{name}={value}"]
    command.append(url_parts["dbname"])
    cpu = children_cpu()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
        client_cpu = children_cpu() - cpu
        out = done.stdout
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr[-1500:]}")
        latencies: list[float] = []
        failed = 0
        for log in logdir.glob("tx*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if len(fields) > 2 and fields[2].isdigit():
                    latencies.append(int(fields[2]) / 1000)
                else:
                    failed += 1
    finally:
        shutil.rmtree(logdir, ignore_errors=True)
    latencies.sort()

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    return {
        "rate": number(r"tps = ([\d.]+) \(without initial connection time\)"),
        "requests": int(number(r"number of transactions actually processed: (\d+)")),
        "failed": int(number(r"number of failed transactions: (\d+)")),
        "retried": int(number(r"number of transactions retried: (\d+)")),
        "retries": int(number(r"total number of retries: (\d+)")),
        "p50_ms": percentile(latencies, 50),
        "p90_ms": percentile(latencies, 90),
        "p99_ms": percentile(latencies, 99),
        "max_ms": latencies[-1] if latencies else float("nan"),
        "client_cpu_s": client_cpu,
        "seconds": seconds,
    }


ERROR_LINE = re.compile(r"\bERROR:\s+(.*)$")


class ServerLog:
    """The cluster's log from a position on: ERROR lines, grouped (serialization failures, deadlocks, …)."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def errors(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        with self.path.open("rb") as f:
            f.seek(self.offset)
            for raw in f:
                found = ERROR_LINE.search(raw.decode(errors="replace"))
                if found:
                    message = re.sub(r'"[^"]*"|\d+', "…", found.group(1))[:90]
                    counts[message] += 1
        return dict(counts)


STATEMENTS = """
SELECT calls, round(mean_exec_time::numeric, 3) AS exec_ms,
       round((total_plan_time / calls)::numeric, 3) AS plan_ms,
       plans, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 80) AS query
FROM pg_stat_statements
WHERE calls > 20 AND query !~* '^(BEGIN|COMMIT|ROLLBACK|SET|SHOW|SELECT 1)'
ORDER BY total_exec_time + total_plan_time DESC
LIMIT 4
"""


class Observer:
    """What one run costs on the server side: CPU of the service and of PostgreSQL, ERROR lines, and
    pg_stat_statements' view of the statements that ran."""

    def __init__(self, admin_url: str, postmaster: int, log: Path):
        self.admin_url = admin_url
        self.postmaster = postmaster
        self.log = ServerLog(log)

    def begin(self, service) -> None:
        from .procs import cpu_seconds, postgres_processes, tree_cpu

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_statements_reset()")
        self.log.mark()
        self.service = service
        self.svc_cpu = service.cpu() if service else 0.0
        self.pg_cpu = tree_cpu(self.postmaster)
        self.pg_processes = postgres_processes(self.postmaster)
        self.pg_reaped = cpu_seconds(self.postmaster, with_reaped=True) - cpu_seconds(self.postmaster)
        self.gave_up = service.gave_up() if service else 0
        if service and service.sampler:
            service.sampler.mark()
        self.started = time.monotonic()

    def end(self) -> dict:
        from .procs import cpu_by_kind, tree_cpu

        pg_cpu = tree_cpu(self.postmaster) - self.pg_cpu
        pg_by_kind = cpu_by_kind(self.postmaster, self.pg_processes, self.pg_reaped)
        svc_cpu = (self.service.cpu() - self.svc_cpu) if self.service else 0.0
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute("SET pg_stat_statements.track = 'none'")
            statements = [
                dict(zip(("calls", "exec_ms", "plan_ms", "plans", "rows", "query"), row, strict=True))
                for row in conn.execute(STATEMENTS).fetchall()
            ]
        for s in statements:
            s["exec_ms"], s["plan_ms"] = float(s["exec_ms"]), float(s["plan_ms"])
        return {
            "service_cpu_s": svc_cpu,
            "postgres_cpu_s": pg_cpu,
            "postgres_cpu_by_kind_s": pg_by_kind,
            "server_errors": self.log.errors(),
            "service_gave_up": (self.service.gave_up() - self.gave_up) if self.service else 0,
            "worker_rss_max_kb": self.service.sampler.window_kb
            if self.service and self.service.sampler
            else None,
            "statements": statements,
        }
