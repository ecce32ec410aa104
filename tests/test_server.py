"""The real server: `weighin serve` boots gunicorn workers that answer on the configured port."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest


@pytest.mark.server
def test_weighin_serve_answers_health_and_errors_in_the_envelope(database_url, start_server):
    server = start_server(database_url, WEB_CONCURRENCY=2)
    with urllib.request.urlopen(server.base + "/health", timeout=5) as reply:
        assert json.load(reply)["status"] == "ok"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(server.base + "/nope", timeout=5)
    assert missing.value.code == 404
    assert json.load(missing.value)["error"]["code"] == "NOT_FOUND"


def test_bad_configuration_fails_at_start_with_one_line(database_url):
    weighin = Path(sys.executable).with_name("weighin")
    result = subprocess.run(
        [str(weighin), "serve"],
        capture_output=True,
        text=True,
        timeout=30,
        env={"DATABASE_URL": database_url, "PORT": "not-a-port"},
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["weighin: configuration error: PORT must be a whole number, got 'not-a-port'"]
