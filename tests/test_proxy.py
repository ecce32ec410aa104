"""nginx in front of the service (SPEC §11, issue 17): `weighin serve --instances 2 --proxy` started for
real; slow and idle clients hold no worker, nginx's own errors answer in the envelope, X-Forwarded-For
reaches the rate limit, and SIGTERM stops the whole stack."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack, suppress
from pathlib import Path

import pytest

from service.embedded import free_port
from service.proxy import Nginx, end
from service.stack import wait_healthy

from .conftest import PASSWORDS, TEMPLATE_WITH_ACCOUNTS, _as_url, _with_database

pytestmark = pytest.mark.server
MAX_BODY_BYTES = 65536


def consecutive_free_ports(count: int) -> int:
    """The first of `count` consecutive ports that nothing listens on."""
    while True:
        first = free_port()
        if first + count > 65535:
            continue
        try:
            with ExitStack() as held:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue


class Stack:
    """`weighin serve --instances N --proxy` in a subprocess; nginx on `port`, instances above it."""

    def __init__(self, database_url: str, instances: int = 2):
        self.instances = instances
        self.port = consecutive_free_ports(instances + 1)
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "ENV": "test",
            "JWT_SECRET": "s" * 48,
            "LOG_LEVEL": "WARNING",
            "WEB_CONCURRENCY": "1",
            "THREADS": "4",
            "MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        }
        env.pop("TRUSTED_PROXIES", None)  # the stack trusts its own nginx on loopback
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in stop()
        weighin = Path(sys.executable).with_name("weighin")
        command = [str(weighin), "serve", "--instances", str(instances), "--proxy"]
        self.process = subprocess.Popen(command, env=env, stdout=self.log, stderr=self.log, text=True)
        problem = wait_healthy(self.base, self.process, 60)
        if problem:
            output = self.output()
            self.stop()
            raise RuntimeError(f"the stack {problem}: {output}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        code = end(self.process, signal.SIGTERM, 40)
        self.log.close()
        return code


@pytest.fixture(scope="module")
def stack(pg_server, clones, account_ids):
    """One stack for the module, on a database with the test accounts."""
    name = clones.take(TEMPLATE_WITH_ACCOUNTS)
    running = Stack(_as_url(_with_database(pg_server, name)))
    yield running
    running.stop()
    clones.give_back(name)


def call(base: str, path: str, body: dict | None = None, headers: dict | None = None, timeout: float = 5):
    """(status, headers, parsed JSON body) of one request."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers={**(headers or {})})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, reply.headers, json.load(reply)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.load(error)


def login(base: str, username: str, password: str, client_ip: str):
    body = {"username": username, "password": password}
    return call(base, "/api/auth/login", body, {"X-Forwarded-For": client_ip})


def raw_exchange(port: int, request: bytes) -> tuple[int, dict[str, str], dict]:
    """Sends raw bytes (what urllib will not send) and parses nginx's answer: read up to its
    Content-Length, since nginx keeps the socket open a while after a 413 to drain the unsent body."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            received += sock.recv(65536)
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        while len(body) < int(headers["content-length"]):
            body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, json.loads(body)


def test_slow_and_idle_clients_hold_no_worker_behind_nginx(stack):
    held: list[socket.socket] = []
    stop = threading.Event()
    try:
        for _ in range(200):  # idle: connected, nothing sent
            held.append(socket.create_connection(("127.0.0.1", stack.port)))
        slow_headers = [socket.create_connection(("127.0.0.1", stack.port)) for _ in range(16)]
        for sock in slow_headers:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: weighin\r\nX-Slow: ")
        slow_bodies = [socket.create_connection(("127.0.0.1", stack.port)) for _ in range(8)]
        for sock in slow_bodies:  # a body announced as 1,000 bytes, 10 sent
            sock.sendall(
                b"POST /api/auth/login HTTP/1.1\r\nHost: weighin\r\nContent-Type: application/json\r\n"
            )
            sock.sendall(b'Content-Length: 1000\r\n\r\n{"username"')
        held += slow_headers + slow_bodies

        def drip():  # one more header byte every 2 s, as the attacker did
            while not stop.wait(2):
                for sock in slow_headers:
                    with suppress(OSError):
                        sock.sendall(b"a")

        threading.Thread(target=drip, daemon=True).start()
        status, _, body = login(stack.base, "admin", PASSWORDS["admin"], "203.0.113.200")
        assert status == 200, body
        auth = {"Authorization": f"Bearer {body['access_token']}"}
        for _ in range(10):
            started = time.monotonic()
            status, _, body = call(stack.base, "/health", timeout=1)
            assert (status, body["status"]) == (200, "ok")
            assert time.monotonic() - started < 1
            started = time.monotonic()
            status, _, body = call(stack.base, "/api/articles", headers=auth, timeout=1)
            assert status == 200, body
            assert time.monotonic() - started < 1
    finally:
        stop.set()
        for sock in held:
            sock.close()


def assert_envelope(status: int, headers, body: dict, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert headers["content-type"].startswith("application/json")
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert set(body["error"]["details"]) == {"request_id"}


def test_nginx_own_errors_answer_in_the_envelope(stack):
    too_long = b"POST /api/drafts HTTP/1.1\r\nHost: w\r\nContent-Type: application/json\r\n"
    too_long += f"Content-Length: {MAX_BODY_BYTES + 1}\r\nConnection: close\r\n\r\n".encode()
    assert_envelope(*raw_exchange(stack.port, too_long), 413, "PAYLOAD_TOO_LARGE")
    huge_uri = b"GET /api/articles?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: w\r\nConnection: close\r\n\r\n"
    assert_envelope(*raw_exchange(stack.port, huge_uri), 414, "URI_TOO_LONG")
    huge_header = (
        b"GET /health HTTP/1.1\r\nHost: w\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n"
    )
    assert_envelope(*raw_exchange(stack.port, huge_header), 431, "HEADER_TOO_LARGE")
    assert_envelope(*call(stack.base, "/_weighin_errors/502"), 404, "NOT_FOUND")

    dead = Nginx("127.0.0.1", free_port(), [f"127.0.0.1:{free_port()}"], MAX_BODY_BYTES)
    try:
        status, headers, body = call(dead.base, "/health")
        assert_envelope(status, headers, body, 502, "SERVICE_UNAVAILABLE")
        assert "Retry-After" not in headers
    finally:
        dead.stop()


def instance_that_dies_with_the_request() -> tuple[socket.socket, threading.Thread]:
    """A listening 'instance' that accepts each connection, reads the request and closes without an
    answer: what nginx sees of an instance SIGKILLed mid-request."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_a_request_whose_instance_dies_before_answering_is_a_retryable_503(stack):
    listener, thread = instance_that_dies_with_the_request()
    front = Nginx("127.0.0.1", free_port(), [f"127.0.0.1:{listener.getsockname()[1]}"], MAX_BODY_BYTES)
    try:
        for path, body in (("/api/draft-groups", {"name": "x"}), ("/health", None)):
            status, headers, answer = call(front.base, path, body, {"Idempotency-Key": "k-1"})
            assert_envelope(status, headers, answer, 503, "SERVICE_UNAVAILABLE")
            assert headers["Retry-After"] == "1"
    finally:
        front.stop()
        listener.close()
        thread.join(5)


def test_the_service_s_own_errors_pass_through_nginx_untouched(stack):
    status, headers, body = call(stack.base, "/api/nope")
    assert (status, body["error"]["code"], body["error"]["details"]) == (404, "NOT_FOUND", {})
    assert headers["X-Frame-Options"] == "DENY"  # the service's security headers, not nginx's


def test_the_rate_limit_sees_the_client_address_nginx_forwards(stack):
    for _ in range(6):
        status, _, body = login(stack.base, "admin", "wrong-password-1", "203.0.113.7")
        assert status == 401, body
    status, headers, body = login(stack.base, "admin", "wrong-password-1", "203.0.113.7")
    assert (status, body["error"]["code"]) == (429, "RATE_LIMIT_EXCEEDED")
    assert int(headers["Retry-After"]) > 0
    status, _, body = login(stack.base, "admin", "wrong-password-1", "203.0.113.8")
    assert status == 401, body  # another client behind the same nginx is not limited


def test_the_request_id_nginx_makes_reaches_the_service(stack):
    _, headers, _ = call(stack.base, "/health")
    assert len(headers["X-Request-ID"]) == 32
    _, headers, _ = call(stack.base, "/health", headers={"X-Request-ID": "client-chosen-1"})
    assert headers["X-Request-ID"] == "client-chosen-1"


def test_a_killed_instance_is_passed_over_and_started_again(database_url):
    running = Stack(database_url, instances=2)
    try:
        second = f"instance on 127.0.0.1:{running.port + 2}: process group "
        group = int(
            next(line for line in running.output().splitlines() if line.startswith(second)).split()[-1]
        )
        os.killpg(group, signal.SIGKILL)  # the instance and its workers die at once
        for _ in range(10):
            status, _, body = call(running.base, "/health")
            assert (status, body["status"]) == (200, "ok")
        restarted = wait_healthy(f"http://127.0.0.1:{running.port + 2}", running.process, 30)
        assert restarted is None, running.output()
        assert running.output().count(second) == 2
    finally:
        running.stop()


def test_serve_with_proxy_stops_nginx_and_every_instance_on_sigterm(database_url):
    running = Stack(database_url, instances=2)
    ports = [running.port, running.port + 1, running.port + 2]
    assert running.stop() == 0
    for port in ports:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_refuses_a_bad_instance_count_with_one_line(database_url):
    weighin = Path(sys.executable).with_name("weighin")
    result = subprocess.run(
        [str(weighin), "serve", "--instances", "0", "--proxy"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "DATABASE_URL": database_url, "JWT_SECRET": "s" * 48},
    )
    assert result.returncode != 0
    assert "--instances: must be a whole number from 1 to 64, got '0'" in result.stderr
