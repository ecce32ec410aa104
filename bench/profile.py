"""Where a workload's time goes inside the service: py-spy samples every gunicorn worker while wrk drives
one workload, and the collapsed stacks are summed per function (self and inclusive time).

    python -m bench.profile approve get --seconds 15 [--groups 100000] [--py-spy PATH]

py-spy is not a project dependency: `pip install py-spy` somewhere and pass its path (or put it on PATH).
Writes bench/results/profile-<workload>.txt (top functions) and the raw collapsed stacks beside it.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

from .procs import Cluster
from .run import POOL, RESULTS, THREADS, WORKERS, Bench, log

# Leaf frames where a worker waits (for PostgreSQL, for the client, for a lock) rather than computes.
WAITING = (
    "Connection.wait",
    "Condition.wait",
    "close_graceful",
    "write (util.py)",
    "socket.accept",
    "select",
    "_real_close",
    "Event.wait",
    "sleep",
)


def summarise(raw: Path, top: int = 30) -> list[str]:
    """Collapsed stacks ("frame;frame;frame count") → where the workers wait, and the functions with the
    most self and total samples among the rest (the Python work)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        leaf = stack.split(";")[-1]
        if "(gunicorn/workers" not in stack and "falcon" not in stack:
            continue  # the master and the pool's idle maintenance threads
        wait = next((w for w in WAITING if leaf.startswith(w) or w in leaf), None)
        if wait:
            waiting[wait] += n
            continue
        samples += n
        frames = [
            f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].split("/")[-1] + ")"
            for f in stack.split(";")
        ]
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    busy = samples + sum(waiting.values())
    lines = [f"{busy} samples of workers: {100 * samples / busy:.0f}% running Python, waiting in:"]
    lines += [f"  {100 * n / busy:5.1f}%  {name}" for name, n in waiting.most_common()]
    lines += ["", "Of the running samples:", "self %  function"]
    lines += [f"{100 * n / samples:5.1f}  {name}" for name, n in own.most_common(top)]
    lines += ["", "total %  function"]
    lines += [f"{100 * n / samples:5.1f}  {name}" for name, n in total.most_common(top)]
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="bench.profile", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    p.add_argument("workloads", nargs="+")
    p.add_argument("--groups", type=int, default=100_000)
    p.add_argument("--seconds", type=int, default=15)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--workers", type=int, default=WORKERS)
    p.add_argument("--threads", type=int, default=THREADS)
    p.add_argument("--pool", type=int, default=POOL)
    p.add_argument("--py-spy", default=shutil.which("py-spy"))
    args = p.parse_args(argv)
    if not args.py_spy:
        raise SystemExit("bench.profile: py-spy not found (pip install py-spy; pass --py-spy PATH)")
    workdir = Path(tempfile.mkdtemp(prefix="weighin-profile-"))
    cluster = Cluster().start()
    bench = Bench(cluster, "bench", args.groups, args.seconds, workdir)
    try:
        bench.prepare()
        bench.start_service(args.workers, args.threads, args.pool)
        RESULTS.mkdir(parents=True, exist_ok=True)
        for workload in args.workloads:
            raw = RESULTS / f"profile-{workload}.collapsed"
            command = [
                args.py_spy,
                "record",
                "--pid",
                str(bench.service.process.pid),
                "--subprocesses",
                "--duration",
                str(args.seconds - 1),
                "--rate",
                "250",
                "--format",
                "raw",
                "--output",
                str(raw),
                "--nonblocking",
            ]
            spy = threading.Thread(
                target=subprocess.run,
                args=(command,),
                kwargs={"capture_output": True, "timeout": args.seconds + 60},
            )
            spy.start()
            run = bench.run(workload, "service", args.connections, round=0)
            spy.join()
            summary = [
                f"{workload}: {run['rate']:.0f} req/s at {args.connections} connections, "
                f"p50 {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms "
                f"(workers={args.workers} threads={args.threads} pool={args.pool})",
                "",
                *summarise(raw),
            ]
            (RESULTS / f"profile-{workload}.txt").write_text("\n".join(summary) + "\n")
            log("\n".join(summary[:40]))
    finally:
        bench.stop_service()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
