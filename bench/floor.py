"""The stack's floor (issue 18): what gunicorn + psycopg cost a worker per approval and per get before any
of the service's own code runs, measured the way `make bench` measures the service.

`app` is a bare WSGI function, served by the same gunicorn gthread workers x threads as the service. It
does the least an approval or a get must: one statement (the service's own `approve_group` /
`group_detail`) on a connection kept by the thread, rows loaded as tuples, a fixed small answer echoing
X-Request-ID. No Falcon, no auth, no validation, no shaping, no pool, no metrics. `main` seeds a
database as `make bench` does and runs approve and get at 8 connections against it and against pgbench,
reporting the workers' CPU per request and the ratio next to the service's figures from the same run.

    python -m bench.floor [--groups 10000] [--rounds 2] [--seconds 6]
"""

from __future__ import annotations

import os
import threading

import psycopg
from psycopg.rows import tuple_row

from service.statements import Statements

SQL = Statements()
SERIAL = "-c default_transaction_isolation=serializable -c enable_seqscan=off"  # the service's serial pool
_local = threading.local()


def _cursor(serial: bool) -> psycopg.Cursor:
    name = "serial" if serial else "plain"
    cursor = getattr(_local, name, None)
    if cursor is None:
        conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, options=SERIAL if serial else "")
        cursor = conn.cursor(row_factory=tuple_row)
        setattr(_local, name, cursor)
    return cursor


def _approve(group_id: int) -> int:
    params = {
        "group_id": group_id,
        "draft_id": None,
        "actor_id": int(os.environ["FLOOR_ACTOR"]),
        "note": None,
    }
    while True:
        try:
            return len(_cursor(True).execute(SQL.approve_group, params).fetchall())
        except psycopg.errors.SerializationFailure:
            continue


def _get(group_id: int) -> int:
    params = {"group_id": group_id, "draft_id": None, "client_event_id": None}
    return len(
        _cursor(False)
        .execute(SQL.group_detail, {**params, "viewer_id": 0, "viewer_is_admin": True})
        .fetchall()
    )


def app(environ, start_response):
    environ["wsgi.input"].read()
    parts = environ["PATH_INFO"].split("/")  # ['', 'api', 'draft-groups', id, ('approve')]
    if len(parts) >= 4 and parts[3].isdigit():
        rows = _approve(int(parts[3])) if parts[-1] == "approve" else _get(int(parts[3]))
        body = b'{"rows": %d}' % rows
    else:
        body = b'{"status": "ok"}'
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if request_id := environ.get("HTTP_X_REQUEST_ID"):
        headers.append(("X-Request-ID", request_id))
    start_response("200 OK", headers)
    return [body]


def main() -> None:
    import argparse
    import statistics
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from .procs import Cluster, Service
    from .run import THREADS, WORKERS, Bench

    class Floor(Service):
        def start(self) -> Service:  # gunicorn on `app`, same workers x threads as the service
            gunicorn = Path(sys.executable).with_name("gunicorn")
            command = [
                str(gunicorn),
                "-k",
                "gthread",
                "-w",
                str(self.workers),
                "--threads",
                str(self.threads),
            ]
            self._stderr = self.stderr_path.open("w")
            self.process = subprocess.Popen(
                [*command, "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "bench.floor:app"],
                env=self.env,
                stderr=self._stderr,
            )
            return self._await_healthy()

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="weighin-floor-"))
    cluster = Cluster().start()
    try:
        bench = Bench(cluster, "bench", args.groups, args.seconds, workdir)
        bench.prepare()
        runs: dict[tuple[str, str], list[dict]] = {}  # (workload, "service" | "floor") -> its pairs' runs
        for app_side in ("service", "floor"):
            if app_side == "floor":
                bench.stop_service()
                actor = str(bench.admin_id)
                bench.service = Floor(bench.url, WORKERS, THREADS, 1, workdir, FLOOR_ACTOR=actor).start()
            else:
                bench.start_service()
            for round_no in range(args.rounds):
                for workload in ("approve", "get"):
                    runs.setdefault((workload, app_side), []).extend(bench.pair(workload, 8, round_no))
        bench.stop_service()
    finally:
        cluster.stop()
    print(f"\n{WORKERS} gthread workers x {THREADS} threads, 8 connections, medians of {args.rounds} rounds")
    print("workload  app       req/s    x pgbench  workers' CPU ms/req  PostgreSQL CPU ms/req")
    for (workload, app_side), results in runs.items():
        served = [r for r in results if r["side"] == "service"]
        pgbench = [r for r in results if r["side"] == "pgbench"]
        rate = statistics.median(r["rate"] for r in served)
        ratio = rate / statistics.median(r["rate"] for r in pgbench)
        svc = statistics.median(r["service_cpu_s"] / r["requests"] for r in served)
        pg = statistics.median(r["postgres_cpu_s"] / r["requests"] for r in served)
        print(f"{workload:<9} {app_side:<9} {rate:7.1f}  {ratio:9.2f}  {svc * 1000:19.3f}  {pg * 1000:22.3f}")


if __name__ == "__main__":
    main()
