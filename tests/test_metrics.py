"""GET /metrics (SPEC §11): the named series after a few requests, parsed as Prometheus parses them; only
from METRICS_ALLOW addresses; the workers of a real gunicorn server add up, in a directory emptied at
start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from falcon import testing
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from service.config import ConfigError

from .api import approve, create, line
from .conftest import make_config


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape: (name, its labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scrape: dict, name: str, **labels) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


def scrape(client, **kwargs) -> dict:
    result = client.simulate_get("/metrics", **kwargs)
    assert result.status_code == 200, result.text
    assert result.headers["Content-Type"].startswith("text/plain")
    return samples(result.text)


def test_metrics_count_requests_by_route_template_and_approval_outcomes(client, as_admin, stockroom):
    before = scrape(client)
    article, batch = stockroom.paint_batch(stock="5")
    enough = create(client, as_admin, [line(article, batch, "2")]).json["id"]
    too_much = create(client, as_admin, [line(article, batch, "50")]).json["id"]
    assert approve(client, as_admin, enough).status_code == 200
    assert approve(client, as_admin, too_much).status_code == 409  # short
    assert approve(client, as_admin, enough).status_code == 409  # not a draft any more
    assert client.simulate_get("/no/such/path").status_code == 404
    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    approve_route = {"method": "POST", "route": "/api/draft-groups/{id:id}/approve"}
    assert grew("weighin_http_requests_total", **approve_route, status="200") == 1
    assert grew("weighin_http_requests_total", **approve_route, status="409") == 2
    assert grew("weighin_http_requests_total", method="POST", route="/api/draft-groups", status="201") == 2
    assert grew("weighin_http_requests_total", method="GET", route="(unmatched)", status="404") == 1
    assert f"/api/draft-groups/{enough}/approve" not in {dict(labels).get("route") for _, labels in after}
    assert grew("weighin_http_request_duration_seconds_count", **approve_route, status="409") == 2
    assert grew("weighin_http_request_duration_seconds_bucket", **approve_route, status="409", le="+Inf") == 2
    assert grew("weighin_approvals_total", outcome="approved") == 1
    assert grew("weighin_approvals_total", outcome="short") == 1
    assert grew("weighin_approvals_total", outcome="not_draft") == 1
    assert ("weighin_serialization_retries_total", frozenset()) in after
    for pool in ("weighin", "weighin-serializable"):
        assert value(after, "weighin_db_pool_connections", pool=pool) == 4  # the test db's pool size
        assert ("weighin_db_pool_waiting_requests", frozenset({("pool", pool)})) in after
        assert ("weighin_db_pool_wait_seconds_total", frozenset({("pool", pool)})) in after
    assert grew("weighin_db_pool_requests_total", pool="weighin-serializable") >= 3  # the approvals


def test_metrics_refuse_an_address_outside_metrics_allow(client):
    result = client.simulate_get("/metrics", remote_addr="10.1.2.3")
    assert result.status_code == 403
    assert result.json["error"]["code"] == "FORBIDDEN"
    assert result.json["error"]["details"] == {"client": "10.1.2.3"}


def test_metrics_refuse_a_client_forwarded_by_a_trusted_proxy(database_url, db):
    client = testing.TestClient(create_app(make_config(database_url, TRUSTED_PROXIES="127.0.0.1/32"), db))
    remote = client.simulate_get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert remote.status_code == 403
    assert remote.json["error"]["details"] == {"client": "203.0.113.7"}
    assert client.simulate_get("/metrics").status_code == 200  # the proxy host itself, no forwarding


def test_metrics_allow_names_the_networks_that_may_scrape(database_url, db):
    client = testing.TestClient(create_app(make_config(database_url, METRICS_ALLOW="10.0.0.0/8, ::1"), db))
    assert client.simulate_get("/metrics", remote_addr="10.200.0.1").status_code == 200
    assert client.simulate_get("/metrics", remote_addr="127.0.0.1").status_code == 403


def test_a_bad_metrics_setting_stops_the_service_with_one_line(database_url):
    with pytest.raises(ConfigError, match=r"^METRICS_ALLOW has an invalid network: 'loopback'$"):
        make_config(database_url, METRICS_ALLOW="loopback")
    with pytest.raises(ConfigError, match=r"^PROMETHEUS_MULTIPROC_DIR must be an absolute directory"):
        make_config(database_url, PROMETHEUS_MULTIPROC_DIR="relative/dir")


STALE = """
from service import metrics
metrics.REQUESTS.labels("GET", "/health", "200").inc(1_000_000)
"""


def _health_counts_by_file(directory: Path) -> dict[str, float]:
    """Per worker file, its count of GET /health answered 200."""
    from prometheus_client.mmap_dict import MmapedDict

    counts = {}
    for path in directory.glob("counter_*.db"):
        for key, count, _, _ in MmapedDict.read_all_values_from_file(str(path)):
            if key.startswith('["weighin_http_requests"') and '"/health"' in key and '"200"' in key:
                counts[path.name] = counts.get(path.name, 0) + count
    return counts


@pytest.mark.server
def test_gunicorn_workers_add_up_in_a_directory_emptied_at_start_and_a_forwarded_client_gets_403(
    database_url, start_server, tmp_path
):
    directory = tmp_path / "metrics"
    directory.mkdir()
    # an earlier run's file: a million requests nobody made since this start
    subprocess.run(
        [sys.executable, "-c", STALE], check=True, env={"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    )
    assert sum(_health_counts_by_file(directory).values()) == 1_000_000
    server = start_server(
        database_url,
        WEB_CONCURRENCY=2,
        THREADS=1,
        PROMETHEUS_MULTIPROC_DIR=directory,
        TRUSTED_PROXIES="127.0.0.1/32",  # as behind a proxy on this host
    )

    def health(_):
        with urllib.request.urlopen(server.base + "/health", timeout=5) as reply:
            assert reply.status == 200

    # concurrent clients reach both workers once both have booted
    deadline = time.monotonic() + 20
    with ThreadPoolExecutor(8) as pool:
        while len(_health_counts_by_file(directory)) < 2 and time.monotonic() < deadline:
            list(pool.map(health, range(16)))
    per_worker = _health_counts_by_file(directory)
    assert len(per_worker) == 2, per_worker  # the stale file is gone; both workers answered
    scraped = samples(_get(server.base + "/metrics"))
    total = value(scraped, "weighin_http_requests_total", method="GET", route="/health", status="200")
    assert total == sum(per_worker.values()) < 1_000_000
    # each worker samples its pool every SAMPLE_SECONDS: wait (boundedly) for the other worker's sample
    for _ in range(50):
        if value(scraped, "weighin_db_pool_connections", pool="weighin") == 2:
            break
        time.sleep(0.2)
        scraped = samples(_get(server.base + "/metrics"))
    assert value(scraped, "weighin_db_pool_connections", pool="weighin") == 2  # one connection per worker

    forwarded = urllib.request.Request(server.base + "/metrics", headers={"X-Forwarded-For": "198.51.100.9"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forwarded, timeout=5)
    assert refused.value.code == 403
    assert json.load(refused.value)["error"]["code"] == "FORBIDDEN"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        return reply.read().decode()
