"""Test database provisioning and the app fixtures.

The server comes from, in order: TEST_DATABASE_URL (its user must be allowed to create databases);
testcontainers' PostgreSQL when a Docker engine answers; a throwaway cluster from the local binaries.
The schema is migrated once into a template database; every test gets a fresh clone of it.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from falcon import testing

from service import migrations
from service.app import create_app
from service.config import Config
from service.db import Database
from service.embedded import TEST_SETTINGS, LocalCluster, free_port
from service.passwords import Passwords
from service.statements import Statements

from .clones import Clones
from .pooling import pgbouncer_fixture, pooler_fixture, pytest_generate_tests  # noqa: F401 - fixtures, hook

TEMPLATE = "weighin_template"
TEMPLATE_WITH_ACCOUNTS = "weighin_template_accounts"
STATEMENTS = Statements()  # read once for every test's Database


def _with_database(url: str, name: str) -> str:
    return psycopg.conninfo.make_conninfo(url, dbname=name)


def _as_url(conninfo: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(conninfo)
    auth = params.get("user", "")
    if params.get("password"):
        auth += f":{params['password']}"
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    return f"postgresql://{auth}@{host}:{port}/{params['dbname']}"


@contextmanager
def _docker_postgres():
    try:
        from docker.errors import DockerException
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:
        yield None
        return
    try:
        container = PostgresContainer("postgres:15", driver=None)
        container.start()
    except DockerException:
        yield None
        return
    try:
        yield container.get_connection_url()
    finally:
        container.stop()


@pytest.fixture(scope="session")
def pg_server():
    """A URL (to some database) on a server where the tests may create databases."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    with _docker_postgres() as url:
        if url:
            yield url
            return
    root = Path(tempfile.mkdtemp(prefix="weighin-test-pg-"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "data", free_port(), settings=TEST_SETTINGS).start()
    LOCAL_CLUSTERS.append(cluster)
    try:
        yield cluster.url("postgres")
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


LOCAL_CLUSTERS: list[LocalCluster] = []


@pytest.fixture
def local_cluster(pg_server):
    """The throwaway cluster the suite runs on (for fault tests that restart it), or a skip."""
    if not LOCAL_CLUSTERS:
        pytest.skip("the database server is not a local throwaway cluster")
    return LOCAL_CLUSTERS[0]


def admin_execute(server_url: str, statement: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(statement)


@pytest.fixture(scope="session")
def template_url(pg_server):
    admin_execute(pg_server, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    admin_execute(pg_server, f"CREATE DATABASE {TEMPLATE}")
    url = _as_url(_with_database(pg_server, TEMPLATE))
    migrations.migrate(url)
    return url


@pytest.fixture(scope="session")
def clones(pg_server, template_url):
    made = Clones(pg_server)
    yield made
    made.close()


@pytest.fixture
def database_url(request, pg_server, clones, pooler):
    """A fresh, fully migrated database for one test; with the test's accounts in it when it asks for them
    (cloned from a second template where they were made once); through PgBouncer when `pooler` says so."""
    template = TEMPLATE
    if "accounts" in request.fixturenames:
        request.getfixturevalue("account_ids")
        template = TEMPLATE_WITH_ACCOUNTS
    name = clones.take(template)
    url = _as_url(_with_database(pg_server, name))
    yield request.getfixturevalue("pgbouncer").url(url) if pooler == "pgbouncer" else url
    clones.give_back(name)


@pytest.fixture
def empty_database_url(pg_server, clones):
    """A fresh database with no schema at all."""
    name = clones.take(None)
    yield _as_url(_with_database(pg_server, name))
    clones.give_back(name)


def make_config(database_url: str, **overrides) -> Config:
    env = {"DATABASE_URL": database_url, "ENV": "test", "JWT_SECRET": "t" * 48, "LOG_LEVEL": "WARNING"}
    env.update({k: str(v) for k, v in overrides.items()})
    return Config.from_env(env)


@pytest.fixture
def config(database_url, pooler):
    return make_config(database_url, DATABASE_POOLER=pooler)


@pytest.fixture
def db(config):
    database = Database(
        config.database_url,
        STATEMENTS,
        pool_size=4,
        statement_timeout_ms=config.statement_timeout_ms,
        pooler=config.database_pooler,
    )
    database.open(wait=True)
    yield database
    database.close()


@pytest.fixture
def client(config, db):
    return testing.TestClient(create_app(config, db))


class Server:
    """The real service: `weighin serve` (gunicorn) in a subprocess on a free port."""

    def __init__(self, database_url: str, **env: object):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            "ENV": "test",
            "JWT_SECRET": "s" * 48,
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "2",
        }
        environment.update({k: str(v) for k, v in env.items()})
        weighin = Path(sys.executable).with_name("weighin")
        # the server's log goes to a file: a pipe nobody drains fills up under a fault run and blocks
        # every worker thread on the logging lock
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server; closed in stop()
        self.process = subprocess.Popen(
            [str(weighin), "serve"], env=environment, stdout=subprocess.DEVNULL, stderr=self.log, text=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read()}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("server did not become healthy within 30 s")

    def stop(self) -> None:
        self._stop_process()
        self.log.close()

    def _stop_process(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # quick shutdown: nothing to drain in a test
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_server(pooler):
    servers: list[Server] = []

    def start(database_url: str, **env: object) -> Server:
        servers.append(Server(database_url, **{"DATABASE_POOLER": pooler, **env}))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


class Clock:
    """Stands in for time.monotonic in the user cache, so a test moves time instead of sleeping."""

    def __init__(self):
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    """The user cache's clock, moved by the test (role, is_active and ended logins bite when it has moved
    past the cache's lifetime)."""
    from service import auth

    fake = Clock()
    monkeypatch.setattr(auth.UserCache, "clock", staticmethod(fake))
    return fake


@pytest.fixture
def verified_passwords(monkeypatch) -> list[tuple[str, str]]:
    """Every argon2 verification the app makes from here on, as (stored hash, password)."""
    from argon2 import PasswordHasher

    made: list[tuple[str, str]] = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, stored, password):
        made.append((stored, password))
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return made


# --- accounts -----------------------------------------------------------------------------------

PASSWORDS = {
    "admin": "admin-password-1",
    "operator": "operator-password-1",
    "operator2": "operator-password-2",
}
_ips = itertools.count(1)


def fresh_ip() -> str:
    """A distinct client address per fixture login, so fixtures never spend a test's rate limit."""
    n = next(_ips)
    return f"198.51.{n // 250}.{n % 250 + 1}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, username: str, password: str | None = None, ip: str | None = None):
    return client.simulate_post(
        "/api/auth/login",
        json={"username": username, "password": password or PASSWORDS[username]},
        remote_addr=ip or fresh_ip(),
    )


@pytest.fixture(scope="session")
def account_ids(pg_server, template_url) -> dict[str, int]:
    """admin, operator and operator2, made once (with ENV=test's fast hashing) in a template of their own."""
    from service.cli import create_user

    admin_execute(pg_server, f"DROP DATABASE IF EXISTS {TEMPLATE_WITH_ACCOUNTS} WITH (FORCE)")
    admin_execute(
        pg_server, f"CREATE DATABASE {TEMPLATE_WITH_ACCOUNTS} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY"
    )
    url = _as_url(_with_database(pg_server, TEMPLATE_WITH_ACCOUNTS))
    fast = Passwords.for_environment("test")
    roles = {"admin": "ADMIN", "operator": "OPERATOR", "operator2": "OPERATOR"}
    return {name: create_user(url, name, PASSWORDS[name], role, fast)["id"] for name, role in roles.items()}


@pytest.fixture
def accounts(database_url, account_ids):
    """User ids by username; the test's database has them (see database_url)."""
    return dict(account_ids)


@pytest.fixture
def tokens(client, accounts):
    """Access tokens by username."""
    return {name: login(client, name).json["access_token"] for name in accounts}


@pytest.fixture
def as_admin(tokens):
    return bearer(tokens["admin"])


@pytest.fixture
def as_operator(tokens):
    return bearer(tokens["operator"])


# --- master data and balances --------------------------------------------------------------------


class Stockroom:
    """Builds locations, articles, batches and balances for a test. Balances are booked through the
    ledger, so a test starts with balance = ledger sum for every key."""

    def __init__(self, url: str):
        self.url = url
        self._n = itertools.count(1)

    def _one(self, statement: str, params=()):
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(statement, params).fetchone()

    def location(self, code: str = "13") -> int:
        found = self._one("SELECT id FROM locations WHERE code = %s", (code,))
        return (
            found[0]
            if found
            else self._one(
                "INSERT INTO locations (code, name) VALUES (%s, %s) RETURNING id", (code, f"Location {code}")
            )[0]
        )

    def article(self, paint: bool = True, article_no: str | None = None) -> int:
        number = article_no or f"{'P' if paint else 'C'}-{next(self._n):04d}"
        return self._one(
            "INSERT INTO articles (article_no, description, is_paint) VALUES (%s, %s, %s) RETURNING id",
            (number, f"Article {number}", paint),
        )[0]

    def batch(self, article_id: int, code: str | None = None) -> int:
        code = code or f"{10000 + next(self._n)}"
        return self._one(
            "INSERT INTO batches (article_id, batch_code, expiry_date) VALUES (%s, %s, '2030-01-01') "
            "RETURNING id",
            (article_id, code),
        )[0]

    def paint_batch(self, stock="0", surplus="0", location: str = "13") -> tuple[int, int]:
        """(article_id, batch_id) of a new paint batch holding these balances at `location`."""
        article = self.article()
        batch = self.batch(article)
        self.book(self.location(location), article, batch, stock, surplus)
        return article, batch

    def book(self, location_id: int, article_id: int, batch_id: int, stock="0", surplus="0") -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table, bucket, tx_type, qty in (
                ("stock", "STOCK", "STOCK_RECEIPT", stock),
                ("surplus", "SURPLUS", "INVENTORY_ADJUSTMENT", surplus),
            ):
                conn.execute(
                    f"INSERT INTO {table} (location_id, batch_id, article_id, quantity_kg) "
                    f"VALUES (%s, %s, %s, %s) ON CONFLICT (location_id, batch_id) "
                    f"DO UPDATE SET quantity_kg = {table}.quantity_kg + excluded.quantity_kg",
                    (location_id, batch_id, article_id, qty),
                )
                if float(qty) > 0:
                    conn.execute(
                        "INSERT INTO transactions (tx_type, bucket, quantity_kg, location_id, article_id, "
                        "batch_id, source) VALUES (%s, %s, %s, %s, %s, %s, 'test')",
                        (tx_type, bucket, qty, location_id, article_id, batch_id),
                    )

    def balances(self, batch_id: int, location: str = "13") -> tuple[str, str]:
        """(stock, surplus) of a key as strings like '8.00'."""
        row = self._one(
            "SELECT (SELECT quantity_kg FROM stock WHERE location_id = l.id AND batch_id = %(b)s), "
            "(SELECT quantity_kg FROM surplus WHERE location_id = l.id AND batch_id = %(b)s) "
            "FROM locations l WHERE l.code = %(code)s",
            {"b": batch_id, "code": location},
        )
        return tuple(str(v) if v is not None else None for v in row)

    def snapshot(self) -> dict:
        """Every balance, ledger row, group and draft: to compare before and after a refused write."""
        with psycopg.connect(self.url) as conn:
            return {
                table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in (
                    "stock",
                    "surplus",
                    "transactions",
                    "draft_groups",
                    "weigh_in_drafts",
                    "approval_actions",
                )
            }

    def unreconciled(self) -> list:
        """Keys whose balance differs from the sum of their ledger rows (empty when healthy): the
        statement behind GET /api/inventory/reconcile."""
        with psycopg.connect(self.url) as conn:
            return conn.execute(STATEMENTS.reconcile_inventory).fetchall()

    def pending_group_drift(self) -> list:
        """DRAFT groups whose pending_groups entry is wrong, missing or extra (empty when healthy)."""
        with psycopg.connect(self.url) as conn:
            return conn.execute(STATEMENTS.pending_groups_drift).fetchall()


@pytest.fixture
def stockroom(database_url):
    room = Stockroom(database_url)
    room.location("13")
    yield room
    assert room.unreconciled() == [], "a balance differs from its ledger sum"
    assert room.pending_group_drift() == [], "pending_groups drifted from the DRAFT groups"


@pytest.fixture
def reconciled(client, as_admin):
    """After the test, GET /api/inventory/reconcile must list nothing: every balance equals its ledger
    sum (SPEC §4). Test modules that move balances through the API use it for every test."""
    yield
    result = client.simulate_get("/api/inventory/reconcile", headers=as_admin)
    assert result.status_code == 200, result.text
    assert result.json["items"] == [], "a balance differs from its ledger sum"
    assert result.json["pending_group_drift"] == [], "pending_groups drifted from the DRAFT groups"
