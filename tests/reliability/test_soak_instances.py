"""Soak through two instances behind nginx (SPEC §11, issue 17): the soak's clients against the nginx front
of `weighin serve --instances 2 --proxy`; at about a third of the run one instance's gunicorn master and
workers are killed at once (SIGKILL to its process group) and the stack starts it again. Clients see
only 503s (the service's, and nginx's for the requests that died with the instance) and dropped
connections, and retry each under its Idempotency-Key to a settled answer; invariants hold in every snapshot and nothing is lost or
doubled. Afterwards the login limit counts one client's attempts across both instances: 6, then 429.

Runs max(SOAK_SECONDS, 60) s (`make soak`: SOAK_SECONDS=300, SOAK_CLIENTS=16)."""

from __future__ import annotations

import os
import signal
import threading
import time
from decimal import Decimal

import pytest

from service.stack import wait_healthy

from ..conftest import PASSWORDS
from ..test_proxy import Stack
from ..test_proxy import login as forwarded_login
from .harness import login
from .test_soak import CLIENTS, SECONDS, Soak, _final_checks, _write_report

pytestmark = pytest.mark.server
RUN_SECONDS = max(SECONDS, 60.0)


def process_group(stack: Stack, port: int) -> int:
    """The process group of the instance on `port`, as the stack printed it when it (last) started it."""
    prefix = f"instance on 127.0.0.1:{port}: process group "
    return int([line for line in stack.output().splitlines() if line.startswith(prefix)][-1].split()[-1])


@pytest.fixture
def two_instances(database_url, accounts):
    running = Stack(database_url, instances=2)
    yield running
    running.stop()


def assert_login_limit_spans(stack: Stack) -> None:
    """7 failed logins of one client, to each instance in turn: 6 answered, then 429 on both and via nginx."""
    # each instance directly: both trust loopback (the stack's nginx), so X-Forwarded-For names the client
    instances = [f"http://127.0.0.1:{stack.port + 1}", f"http://127.0.0.1:{stack.port + 2}"]
    answers = [
        forwarded_login(instances[n % 2], "operator", "wrong-password-1", "198.51.100.17")[0]
        for n in range(7)
    ]
    assert answers == [401] * 6 + [429]
    status, headers, body = forwarded_login(instances[1], "operator", PASSWORDS["operator"], "198.51.100.17")
    assert (status, body["error"]["code"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert int(headers["Retry-After"]) > 0
    # through nginx the same client is refused too, whichever instance answers; another client is not
    assert forwarded_login(stack.base, "operator", "wrong-password-1", "198.51.100.17")[0] == 429
    assert forwarded_login(stack.base, "operator", "wrong-password-1", "198.51.100.18")[0] == 401


def test_two_instance_soak_with_a_kill_and_restart_then_the_login_limit_spans_both(
    database_url, stockroom, two_instances
):
    stack = two_instances
    keys = [stockroom.paint_batch(stock="40", surplus="5") for _ in range(4)]
    stockroom.location("14")
    initial = {b: sum(Decimal(x) for x in stockroom.balances(b)) for _, b in keys}
    tokens = {name: login(stack.port, name, PASSWORDS[name]) for name in ("admin", "operator")}
    soak = Soak(stack.port, database_url, tokens, keys, seed=17)
    victim = stack.port + 1  # the first instance; nginx listens on stack.port
    faults: dict[str, object] = {}
    restarted = threading.Event()

    def chaos(deadline: float) -> None:
        time.sleep(RUN_SECONDS / 3)
        os.killpg(process_group(stack, victim), signal.SIGKILL)
        killed_at = time.monotonic()
        faults["killed_at_s"] = round(RUN_SECONDS / 3, 1)
        problem = wait_healthy(f"http://127.0.0.1:{victim}", stack.process, 30)
        faults["back_after_s"] = round(time.monotonic() - killed_at, 1)
        faults["restart_problem"] = problem
        if problem is None:
            restarted.set()

    report = soak.run(RUN_SECONDS, CLIENTS, chaos=chaos)
    report["faults"] = faults
    _write_report("soak_instances", report)

    assert restarted.is_set(), stack.output()
    assert stack.output().count(f"instance on 127.0.0.1:{victim}: process group ") == 2
    assert faults["back_after_s"] < RUN_SECONDS * 2 / 3, "the restarted instance took no part in the run"
    # besides the answers the soak's operations expect (2xx, business 4xx), clients saw only 503s: the
    # service's (a busy retry) and nginx's for the requests that died with the instance
    assert {s for s in soak.stats if isinstance(s, int) and s >= 500} <= {503}, soak.stats
    # every write retried (503, dropped connection) settled under its key: none given up
    assert soak.gave_up == []
    assert soak.approved and soak.groups
    _final_checks(soak, database_url, initial)
    assert_login_limit_spans(stack)  # the restarted instance counts with the other one
