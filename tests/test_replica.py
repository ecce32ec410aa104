"""DATABASE_READ_URL (SPEC §11): a real streaming standby of the test cluster, made by pg_basebackup; the
reports and exports read from it (X-Served-By: replica), every write and every other read stays on the
primary. While the standby's replay is paused a report still shows the old stock and the primary's
summary the new: the header says where each answer really came from."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from falcon import testing

from service.app import create_app
from service.config import ConfigError
from service.db import Database
from service.embedded import free_port

from .api import approve, create, line, new_article, paint_line, receive
from .conftest import LOCAL_CLUSTERS, PASSWORDS, STATEMENTS, make_config

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("stockroom")]
REPLAY_SECONDS = 30


@pytest.fixture(scope="module")
def standby(pg_server):
    """A hot standby of the suite's throwaway cluster, streaming from it."""
    if not LOCAL_CLUSTERS:
        pytest.skip("the database server is not a local throwaway cluster")
    root = Path(tempfile.mkdtemp(prefix="weighin-test-standby-"))
    root.chmod(0o755)
    cluster = LOCAL_CLUSTERS[0].standby(root / "data", free_port()).start()
    try:
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def on_standby(standby, database_url: str) -> str:
    return standby.url(psycopg.conninfo.conninfo_to_dict(database_url)["dbname"])


def caught_up(primary_url: str, standby_url: str) -> None:
    """Wait until the standby has replayed everything the primary has written so far. The insert position,
    not pg_current_wal_lsn() (the write position): the test cluster commits with synchronous_commit=off,
    so a commit's record can sit in the WAL buffers, past the write position, until the WAL writer wakes."""
    with psycopg.connect(primary_url, autocommit=True) as conn:
        lsn = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone()[0]
    deadline = time.monotonic() + REPLAY_SECONDS
    with psycopg.connect(on_standby_postgres(standby_url), autocommit=True) as conn:
        while not conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]:
            assert time.monotonic() < deadline, f"the standby did not replay up to {lsn}"
            time.sleep(0.05)


def on_standby_postgres(standby_url: str) -> str:
    return psycopg.conninfo.make_conninfo(standby_url, dbname="postgres")


@pytest.fixture
def replica_url(standby, database_url):
    url = on_standby(standby, database_url)
    caught_up(database_url, url)  # the test's database, cloned on the primary, exists there too
    return url


@pytest.fixture
def replica(replica_url):
    database = Database(replica_url, STATEMENTS, pool_size=2, name="weighin-replica", writes=False)
    database.open(wait=True)
    yield database
    database.close()


@pytest.fixture
def split_client(database_url, db, replica, replica_url):
    """The app with DATABASE_READ_URL set (the same tokens work: same secret)."""
    return testing.TestClient(
        create_app(make_config(database_url, DATABASE_READ_URL=replica_url), db, replica)
    )


def report_paths(article_no: str) -> list[tuple[str, dict]]:
    today = date.today()
    return [
        ("/api/reports/inventory", {}),
        ("/api/reports/inventory", {"as_of": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}),
        ("/api/reports/inventory", {"format": "csv"}),
        ("/api/reports/transactions", {}),
        ("/api/reports/transactions", {"format": "xlsx"}),
        ("/api/reports/consumption", {"from": (today - timedelta(days=1)).isoformat()}),
        ("/api/inventory/low-stock", {}),
        ("/api/inventory/expiring", {"within_days": "3650"}),
    ]


def stocked(client, headers) -> dict:
    """An article with a threshold, received, one weigh-in approved: every report has a row of it."""
    article = new_article(client, headers, reorder_threshold="100")
    expiry = (date.today() + timedelta(days=10)).isoformat()
    result = receive(client, headers, lines=[paint_line(article["id"], quantity="40", expiry=expiry)])
    assert result.status_code == 201, result.text
    assert result.headers["X-Served-By"] == "primary"
    batch = result.json["lines"][0]["batch_id"]
    group = create(client, headers, [line(article["id"], batch, "5")])
    assert group.status_code == 201, group.text
    assert approve(client, headers, group.json["id"]).headers["X-Served-By"] == "primary"
    return article


def test_every_report_and_export_is_served_by_the_replica_with_the_replayed_data(
    split_client, as_admin, database_url, replica_url
):
    article = stocked(split_client, as_admin)
    caught_up(database_url, replica_url)

    for path, params in report_paths(article["article_no"]):
        result = split_client.simulate_get(path, headers=as_admin, params=params)
        assert result.status_code == 200, (path, params, result.text)
        assert result.headers["X-Served-By"] == "replica", (path, params)
        if params.get("format") != "xlsx":
            assert article["article_no"] in result.text, (path, params)


def test_writes_and_other_reads_are_served_by_the_primary(split_client, as_admin):
    article = new_article(split_client, as_admin)
    reads = [
        "/health",
        "/api/auth/me",
        "/api/inventory/summary",
        "/api/transactions",
        "/api/draft-groups",
        f"/api/articles/{article['article_no']}",
        "/api/audit",
    ]
    for path in reads:
        result = split_client.simulate_get(path, headers=as_admin)
        assert result.status_code == 200, (path, result.text)
        assert result.headers["X-Served-By"] == "primary", path
    written = receive(split_client, as_admin, lines=[paint_line(article["id"])])
    assert written.status_code == 201 and written.headers["X-Served-By"] == "primary"


def test_a_report_shows_what_the_standby_has_replayed_while_the_primary_has_more(
    split_client, as_admin, database_url, replica_url
):
    article = new_article(split_client, as_admin)
    with psycopg.connect(on_standby_postgres(replica_url), autocommit=True) as standby:
        standby.execute("SELECT pg_wal_replay_pause()")
        try:
            result = receive(split_client, as_admin, lines=[paint_line(article["id"], quantity="7")])
            assert result.status_code == 201, result.text
            summary = split_client.simulate_get("/api/inventory/summary", headers=as_admin)
            report = split_client.simulate_get("/api/reports/inventory", headers=as_admin)
        finally:
            standby.execute("SELECT pg_wal_replay_resume()")
    assert article["article_no"] in summary.text and summary.headers["X-Served-By"] == "primary"
    assert article["article_no"] not in report.text and report.headers["X-Served-By"] == "replica"

    caught_up(database_url, replica_url)
    again = split_client.simulate_get("/api/reports/inventory", headers=as_admin)
    assert article["article_no"] in again.text


def test_the_replica_opens_its_read_sessions_and_no_serializable_ones(replica):
    assert replica.pool.get_stats()["pool_size"] == 2
    assert replica.serial_pool.get_stats()["pool_size"] == 0


def test_without_a_read_url_the_reports_are_served_by_the_primary(client, as_admin):
    result = client.simulate_get("/api/inventory/low-stock", headers=as_admin)
    assert result.status_code == 200 and result.headers["X-Served-By"] == "primary"


def test_a_read_url_that_is_not_postgresql_stops_the_service_at_start(database_url):
    with pytest.raises(ConfigError, match="DATABASE_READ_URL must be a postgresql:// URL"):
        make_config(database_url, DATABASE_READ_URL="mysql://elsewhere/db")


def test_weighin_serve_reads_its_reports_from_database_read_url(
    database_url, accounts, replica_url, start_server
):
    server = start_server(database_url, DATABASE_READ_URL=replica_url)
    login = urllib.request.Request(
        server.base + "/api/auth/login",
        data=json.dumps({"username": "admin", "password": PASSWORDS["admin"]}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(login, timeout=10) as reply:
        assert reply.headers["X-Served-By"] == "primary"
        token = json.load(reply)["access_token"]
    report = urllib.request.Request(
        server.base + "/api/inventory/low-stock", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(report, timeout=10) as reply:
        assert reply.status == 200 and reply.headers["X-Served-By"] == "replica"


def test_an_unreachable_replica_makes_the_reports_503_without_falling_back_to_the_primary(
    database_url, db, as_admin
):
    nowhere = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/weighin", STATEMENTS, pool_size=1)
    nowhere.open()
    try:
        app = create_app(make_config(database_url, DATABASE_READ_URL=nowhere.url), db, nowhere)
        result = testing.TestClient(app).simulate_get("/api/inventory/low-stock", headers=as_admin)
    finally:
        nowhere.close()
    assert result.status_code == 503, result.text
    assert result.headers["X-Served-By"] == "replica"
    assert testing.TestClient(app).simulate_get("/api/inventory/summary", headers=as_admin).status_code == 200
