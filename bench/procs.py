"""Processes the bench starts and watches: the throwaway cluster, the service, RSS and CPU sampling."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from service.embedded import SERVER_SETTINGS, LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent
RESERVED_PORTS = {5001, 54329}  # `make run`'s service and embedded cluster
TICKS = os.sysconf("SC_CLK_TCK")

# What the bench cluster adds to the embedded cluster's SERVER_SETTINGS (durability stays on).
BENCH_SETTINGS = {
    "max_wal_size": "'4GB'",  # the 1M seeding would otherwise checkpoint every few seconds
    "shared_preload_libraries": "'pg_stat_statements'",  # per-statement time, service vs pgbench
    "pg_stat_statements.track_planning": "on",
    "log_line_prefix": "'%m [%p] '",
    "autovacuum_naptime": "'10s'",
}


def port() -> int:
    while True:
        chosen = free_port()
        if chosen not in RESERVED_PORTS:
            return chosen


class Cluster:
    """A LocalCluster in a temporary folder the postgres OS user can reach; removed on stop."""

    def __init__(self, extra: dict[str, str] | None = None):
        self.root = Path(tempfile.mkdtemp(prefix="weighin-bench-pg-"))
        self.root.chmod(0o755)
        self.settings = {**BENCH_SETTINGS, **(extra or {})}
        self.cluster = LocalCluster(self.root / "data", port(), settings=self.settings)

    @property
    def effective_settings(self) -> dict[str, str]:
        return {**SERVER_SETTINGS, **self.settings}

    def start(self) -> Cluster:
        self.cluster.start()
        return self

    def url(self, database: str) -> str:
        return self.cluster.url(database)

    @property
    def log(self) -> Path:
        return self.cluster.datadir / "server.log"

    def postmaster_pid(self) -> int:
        return int((self.cluster.datadir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        try:
            self.cluster.stop(mode="fast")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def cpu_seconds(pid: int, with_reaped: bool = False) -> float:
    """utime + stime of a process (and of its reaped children when asked), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def tree_cpu(pid: int) -> float:
    """CPU of a process, its live children and the children it has reaped (postmaster, gunicorn)."""
    return cpu_seconds(pid, with_reaped=True) + sum(cpu_seconds(child) for child in children(pid))


def postgres_processes(postmaster: int) -> dict[int, tuple[str, float]]:
    """The postmaster's live children: pid -> (kind, CPU seconds so far); kind is what the process title
    says ("checkpointer", "autovacuum worker", ...), "client backend" for connections."""
    found = {}
    for pid in children(postmaster):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        kind = title.removeprefix("postgres: ")
        if "(" in kind or "[local]" in kind:  # "user database host(port) state"
            kind = "client backend"
        found[pid] = (kind, cpu_seconds(pid))
    return found


def cpu_by_kind(
    postmaster: int, before: dict[int, tuple[str, float]], reaped_before: float
) -> dict[str, float]:
    """CPU seconds by kind of PostgreSQL process since `before` (a postgres_processes() snapshot, taken
    when the postmaster's reaped children had used `reaped_before`); "exited" is what processes that
    ended since used (pgbench's backends, autovacuum workers)."""
    now = postgres_processes(postmaster)
    spent: dict[str, float] = {}
    for pid, (kind, cpu) in now.items():
        spent[kind] = spent.get(kind, 0.0) + cpu - before.get(pid, (kind, 0.0))[1]
    vanished = sum(cpu for pid, (_, cpu) in before.items() if pid not in now)
    reaped = cpu_seconds(postmaster, with_reaped=True) - cpu_seconds(postmaster)
    spent["exited"] = reaped - reaped_before - vanished
    return {kind: round(cpu, 3) for kind, cpu in sorted(spent.items()) if round(cpu, 3)}


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples every worker's VmRSS (children of the gunicorn master) until stopped; keeps the maxima."""

    def __init__(self, master: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.master = master
        self.interval = interval
        self.max_kb: dict[int, int] = {}
        self.window_kb = 0  # the largest worker since mark()
        self.samples = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            for pid in children(self.master):
                kb = rss_kb(pid)
                if kb:
                    self.max_kb[pid] = max(self.max_kb.get(pid, 0), kb)
                    self.window_kb = max(self.window_kb, kb)
            self.samples += 1

    def mark(self) -> None:
        self.window_kb = 0

    def stop(self) -> None:
        self._halt.set()
        self.join(5)


class Service:
    """`weighin serve` (gunicorn with gunicorn.conf.py) on a free loopback port."""

    def __init__(self, database_url: str, workers: int, threads: int, pool: int, logdir: Path, **env: str):
        self.port = port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers, self.threads, self.pool = workers, threads, pool
        self.stderr_path = logdir / f"gunicorn-{self.port}.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "ENV": "production",
            "JWT_SECRET": "bench-" + "s" * 48,
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": str(workers),
            "THREADS": str(threads),
            "DB_POOL_SIZE": str(pool),
            "LOGIN_ATTEMPTS_PER_MINUTE": "0",
            "ACCESS_TOKEN_MINUTES": "600",
            **env,
        }
        self.process: subprocess.Popen | None = None
        self.sampler: RssSampler | None = None

    def start(self) -> Service:
        weighin = Path(sys.executable).with_name("weighin")
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [str(weighin), "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=self._stderr, cwd=ROOT
        )
        return self._await_healthy()

    def _await_healthy(self) -> Service:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.stderr_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as reply:
                    if reply.status == 200 and len(children(self.process.pid)) >= self.workers:
                        break
            except OSError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError("the service did not become healthy within 60 s")
        self.sampler = RssSampler(self.process.pid)
        self.sampler.start()
        return self

    def wait_idle(self, limit: float = 60.0) -> float:
        """Waits until the workers stop computing: requests a load generator left behind (a login
        queued behind others hashes for a second) must not eat into the next run. Returns the wait."""
        started = time.monotonic()
        before = self.cpu()
        while time.monotonic() - started < limit:
            time.sleep(0.25)
            now = self.cpu()
            if now - before < 0.02:
                break
            before = now
        return time.monotonic() - started

    def worker_pids(self) -> list[int]:
        return children(self.process.pid) if self.process else []

    def cpu(self) -> float:
        return tree_cpu(self.process.pid) if self.process else 0.0

    def post(self, path: str, body: dict, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(self.base + path, json.dumps(body).encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read())

    def login(self, username: str, password: str) -> str:
        return self.post("/api/auth/login", {"username": username, "password": password})["access_token"]

    def gave_up(self) -> int:
        """How many requests the service answered 503 after its retries ran out (its log says so)."""
        try:
            return self.stderr_path.read_text().count("giving up after")
        except OSError:
            return 0

    def stop(self) -> None:
        try:
            if self.process and self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(30)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            if self.sampler:
                self.sampler.stop()
            if getattr(self, "_stderr", None):
                self._stderr.close()
