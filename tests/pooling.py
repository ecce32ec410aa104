"""The service through a real PgBouncer (Debian's package) in transaction pooling mode: a test marked
`through_pgbouncer` runs twice, once directly and once with `database_url` (and so its `db`, its `client`
and the servers it starts) going through the pooler with DATABASE_POOLER=pgbouncer."""

from __future__ import annotations

import pytest

from service.pooler import LocalPgBouncer


@pytest.fixture(scope="session", name="pgbouncer")
def pgbouncer_fixture(pg_server):
    """A PgBouncer in front of the test server; a missing binary fails the test, never skips it."""
    bouncer = LocalPgBouncer(pg_server).start()
    yield bouncer
    bouncer.stop()


@pytest.fixture(name="pooler")
def pooler_fixture(request):
    """How the test's service reaches PostgreSQL: "none" (directly), or "pgbouncer" on the second run of
    a test marked `through_pgbouncer`."""
    return getattr(request, "param", "none")


def pytest_generate_tests(metafunc):
    if metafunc.definition.get_closest_marker("through_pgbouncer") and "pooler" in metafunc.fixturenames:
        metafunc.parametrize("pooler", ["none", "pgbouncer"], indirect=True)
