"""The access log: one JSON line per request with id, route, status, duration and user; never
a password or a token."""

from __future__ import annotations

import json
import logging

from falcon import testing

from service.app import create_app

from .conftest import PASSWORDS, bearer, fresh_ip, make_config


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


def test_each_request_logs_one_json_line_without_secrets(database_url, db, accounts):
    app = create_app(make_config(database_url, LOG_LEVEL="INFO"), db)
    client = testing.TestClient(app)
    captured = Lines()
    access = logging.getLogger("weighin.access")
    access.addHandler(captured)
    access.setLevel(logging.INFO)  # what configure_logging does for LOG_LEVEL=INFO in a worker
    try:
        session = client.simulate_post(
            "/api/auth/login",
            remote_addr=fresh_ip(),
            json={"username": "admin", "password": PASSWORDS["admin"]},
        ).json
        client.simulate_get("/api/auth/me", headers=bearer(session["access_token"]))
        client.simulate_get("/nope")
    finally:
        access.removeHandler(captured)
        access.setLevel(logging.NOTSET)
    entries = [json.loads(line) for line in captured.lines]
    assert [(e["method"], e["route"], e["status"]) for e in entries] == [
        ("POST", "/api/auth/login", 200),
        ("GET", "/api/auth/me", 200),
        ("GET", "/nope", 404),
    ]
    assert entries[1]["user_id"] == accounts["admin"]
    assert all(e["request_id"] and e["duration_ms"] >= 0 for e in entries)
    text = "\n".join(captured.lines)
    for secret in (PASSWORDS["admin"], session["access_token"], session["refresh_token"]):
        assert secret not in text
