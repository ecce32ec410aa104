"""Prometheus metrics (SPEC §11): the metric objects, the request middleware, the pool sampler and the
text a scrape answers. Under gunicorn every worker writes its values to files in PROMETHEUS_MULTIPROC_DIR
(gunicorn.conf.py makes and empties that directory at start), and a scrape, answered by any one worker,
sums them; without that variable (a test's in-process app) the default registry of the process answers.

Series: weighin_http_requests_total and weighin_http_request_duration_seconds by method, route template
and status; weighin_approvals_total by outcome; weighin_serialization_retries_total; the database pools'
size, idle connections, waiting requests, requests, waits, wait time and timeouts by pool."""

from __future__ import annotations

import os
import threading
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

UNMATCHED = "(unmatched)"  # the route label of a request no route template matched (a 404)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SAMPLE_SECONDS = 1.0

REQUESTS = Counter("weighin_http_requests", "HTTP requests answered", ("method", "route", "status"))
LATENCY = Histogram(
    "weighin_http_request_duration_seconds",
    "Time from the request's arrival in the app to its answer (a streamed body's first chunk)",
    ("method", "route", "status"),
    buckets=BUCKETS,
)
APPROVALS = Counter("weighin_approvals", "Approvals by outcome (approved, short, not_draft...)", ("outcome",))
RETRIES = Counter("weighin_serialization_retries", "Transactions run again after a serialization failure")


def _live(name: str, help_text: str) -> Gauge:
    """A pool measure, summed over the live workers."""
    return Gauge(name, help_text, ("pool",), multiprocess_mode="livesum")


_POOL_GAUGES = {  # psycopg_pool's measure -> gauge
    "pool_size": _live("weighin_db_pool_connections", "Open connections"),
    "pool_available": _live("weighin_db_pool_idle_connections", "Connections idle in the pool"),
    "requests_waiting": _live("weighin_db_pool_waiting_requests", "Requests waiting for a connection"),
}
_POOL_COUNTERS = {  # psycopg_pool's counter -> (counter, scale)
    "requests_num": (Counter("weighin_db_pool_requests", "Connections asked of the pool", ("pool",)), 1),
    "requests_queued": (Counter("weighin_db_pool_waits", "Requests that waited", ("pool",)), 1),
    "requests_wait_ms": (Counter("weighin_db_pool_wait_seconds", "Time spent waiting", ("pool",)), 0.001),
    "requests_errors": (Counter("weighin_db_pool_timeouts", "Requests given no connection", ("pool",)), 1),
}
_sampling = threading.Lock()


def multiprocess_mode() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def count_approval(outcome: str) -> None:
    APPROVALS.labels(outcome).inc()


def sample_pools(db) -> None:
    """Copies the pools' measures into the gauges and adds their counters since the last sample."""
    with _sampling:  # pop_stats hands each counter's increase to one caller only
        for pool in (db.pool, db.serial_pool):
            stats = pool.pop_stats()
            for key, gauge in _POOL_GAUGES.items():
                gauge.labels(pool.name).set(stats.get(key, 0))
            for key, (counter, scale) in _POOL_COUNTERS.items():
                counter.labels(pool.name).inc(stats.get(key, 0) * scale)


def start_pool_sampler(db, every_seconds: float = SAMPLE_SECONDS) -> None:
    """Under gunicorn: samples this worker's pools every second in a daemon thread, so a scrape answered
    by another worker sees them too (the worker that answers samples its own at once)."""

    def loop() -> None:
        while True:
            time.sleep(every_seconds)
            sample_pools(db)

    threading.Thread(target=loop, name="metrics-sampler", daemon=True).start()


def exposition(db) -> tuple[bytes, str]:
    """The scrape's body and content type: every worker's values under gunicorn, else this process's."""
    sample_pools(db)
    if multiprocess_mode():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return generate_latest(registry), CONTENT_TYPE_LATEST


class RequestMetrics:
    """Counts every request and observes its latency by method, route template (never the raw path) and
    status. Each label combination's two series are looked up once, then kept."""

    def __init__(self):
        self._series: dict[tuple[str, str, int], tuple] = {}

    def process_request(self, req, resp) -> None:
        req.context.metrics_started = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        started = getattr(req.context, "metrics_started", None)
        if started is None:
            return
        elapsed = time.perf_counter() - started
        method = req.method if req.method in METHODS else "OTHER"  # the label's values stay a small set
        key = (method, req.uri_template or UNMATCHED, resp.status_code)
        series = self._series.get(key)
        if series is None:
            labels = (method, key[1], str(key[2]))
            series = self._series[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
        series[0].inc()
        series[1].observe(elapsed)
