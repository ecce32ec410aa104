"""Issue 14, input hardening: whole-number and empty or repeated query parameters, the quantity grammar,
token claims, request ids, per-user bounds on refresh tokens and kept idempotency answers, and what the
real server (gunicorn) answers itself."""

from __future__ import annotations

import http.client
import json
import runpy
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import jsonschema_rs
import jwt
import psycopg
import pytest

from service.config import PROJECT_ROOT
from service.janitor import Janitor
from service.tokens import new_family, new_refresh_token
from service.validation import quantity

from .api import line
from .conftest import PASSWORDS, TEMPLATE_WITH_ACCOUNTS, Server, _as_url, _with_database, bearer, login

BAD_WHOLE_NUMBERS = ["--5", "1.5", "\u0663", "99999999999999999999999", ""]


@pytest.fixture
def query_parameters(client, stockroom):
    """(path, parameter name, schema) of every query parameter /openapi.json publishes; the one path
    field (`{article}`) names an article that exists."""
    stockroom.article(article_no="P-HARD")
    found = []
    for path, item in client.simulate_get("/openapi.json").json["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter["in"] == "query":
                found.append((path.replace("{article}", "P-HARD"), parameter["name"], parameter["schema"]))
    return found


def _is_whole_number(schema: dict) -> bool:
    return schema.get("type") == "integer" or schema.get("pattern") == "^(me|[0-9]+)$"


def _refused(result, name: str) -> bool:
    error = result.json.get("error", {}) if isinstance(result.json, dict) else {}
    return (
        result.status_code == 400
        and error.get("code") == "VALIDATION_ERROR"
        and name in error.get("details", {}).get("fields", {})
    )


# --- finding 1: one strict parser for whole-number query parameters --------------------------------


def test_every_whole_number_query_parameter_refuses_signs_fractions_unicode_digits_overflow_and_empty(
    client, as_admin, query_parameters
):
    pairs = [(path, name) for path, name, schema in query_parameters if _is_whole_number(schema)]
    # limit, location_id, article_id, batch_id, created_by on every list; the audit's actor_id,
    # draft_group_id; within_days and the stock reads' ids
    assert len(pairs) == 35
    wrong = []
    for path, name in pairs:
        for value in BAD_WHOLE_NUMBERS:
            result = client.simulate_get(path, headers=as_admin, query_string=urlencode({name: value}))
            if not _refused(result, name):
                wrong.append((path, name, value, result.status_code))
    assert wrong == []


def test_a_whole_number_parameter_takes_ascii_digits_within_its_range(client, as_admin):
    def status(query: str) -> int:
        return client.simulate_get("/api/transactions", headers=as_admin, query_string=query).status_code

    assert status("limit=500") == status("limit=007") == status(f"batch_id={2**63 - 1}") == 200
    assert status("limit=501") == status("limit=0") == status(f"batch_id={2**63}") == 400
    assert status("limit=+5") == status("limit=-5") == status("limit=%205") == status("limit=5%0A") == 400


def test_created_by_takes_me_or_a_user_id_and_nothing_else(client, as_admin, accounts):
    def status(value: str) -> int:
        return client.simulate_get(
            "/api/drafts", headers=as_admin, query_string=urlencode({"created_by": value})
        ).status_code

    assert status("me") == status(str(accounts["operator"])) == 200
    assert status("ME") == status("-1") == status("me ") == 400


# --- finding 10 (query part): empty and repeated parameters ----------------------------------------


def test_an_empty_query_parameter_is_400_exactly_where_its_published_schema_forbids_it(
    client, as_admin, query_parameters
):
    wrong = []
    for path, name, schema in query_parameters:
        forbidden = not jsonschema_rs.validator_for(schema, validate_formats=True).is_valid("")
        result = client.simulate_get(path, headers=as_admin, query_string=f"{name}=")
        if forbidden != _refused(result, name) or result.status_code >= 500:
            wrong.append((path, name, forbidden, result.status_code))
    assert wrong == []


@pytest.mark.parametrize(
    ("path", "query", "name"),
    [
        ("/api/articles", "limit=abc&limit=1", "limit"),
        ("/api/articles", "limit=1&limit=abc", "limit"),
        ("/api/articles", "limit=1&limit=1", "limit"),
        ("/api/articles", "is_paint=true&is_paint=false", "is_paint"),
        ("/api/articles", "q=a&q=b", "q"),
        ("/api/articles", "cursor=&cursor=", "cursor"),
        ("/api/drafts", "created_by=me&created_by=1", "created_by"),
        ("/api/transactions", "to=2025-01-01&to=2025-01-02", "to"),
        ("/api/transactions", "order_number=A&order_number=B", "order_number"),
        ("/api/inventory/receipts", "from=2025-01-01&from=2025-01-01", "from"),
        ("/api/reports/inventory", "format=json&format=csv", "format"),
    ],
)
def test_a_query_parameter_given_twice_is_400_naming_it(client, as_admin, path, query, name):
    result = client.simulate_get(path, headers=as_admin, query_string=query)
    assert _refused(result, name), result.text


# --- finding 7: the quantity grammar ----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1_0",
        "+1",
        "1e2",
        "1E2",
        "1 0",
        "- 1",
        "--1",
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "1.",
        ".5",
        "0x10",
        "1,5",
        "\u0661",
        "",
        " ",
        "1" * 41,
        float("nan"),
        float("inf"),
        [1],
        True,
    ],
)
def test_a_quantity_outside_the_plain_decimal_grammar_is_refused(value):
    problems: dict[str, str] = {}
    assert quantity(value, "quantity_kg", Decimal("-1000"), Decimal("1000"), problems) is None
    assert "quantity_kg" in problems


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12", "12.00"),
        ("-3.5", "-3.50"),
        ("1.005", "1.01"),
        ("-0", "0.00"),
        (" 7.25 ", "7.25"),
        ("0012.5", "12.50"),
        (4, "4.00"),
        (2.675, "2.68"),
        (1e2, "100.00"),  # a JSON number 1e2 arrives as the float 100.0: a number, not a string
    ],
)
def test_plain_decimal_strings_and_json_numbers_round_half_up_to_a_cent(value, expected):
    problems: dict[str, str] = {}
    assert str(quantity(value, "q", Decimal("-1000"), Decimal("1000"), problems)) == expected
    assert problems == {}


def test_a_quantity_with_an_underscore_is_400_and_writes_nothing(client, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="50")
    before = stockroom.snapshot()
    result = client.simulate_post("/api/drafts", headers=as_operator, json=line(article, batch, "1_0"))
    assert _refused(result, "quantity_kg"), result.text
    assert stockroom.snapshot() == before


# --- finding 12: token claims, request ids, per-user bounds ----------------------------------------


def _signed(config, **claims) -> str:
    base = {"sub": "1", "typ": "access", "fam": new_family(), "iat": int(time.time())}
    return jwt.encode({**base, **claims}, config.jwt_secret, algorithm="HS256")


def test_a_token_whose_exp_is_a_string_is_401_invalid_token_every_time(client, config, accounts):
    token = _signed(config, sub=str(accounts["admin"]), exp=str(int(time.time()) + 600))
    for _ in range(3):
        result = client.simulate_get("/api/auth/me", headers=bearer(token))
        assert result.status_code == 401 and result.json["error"]["code"] == "INVALID_TOKEN"


@pytest.mark.parametrize("sub", ["\u0661", "\uff11", "+1", " 1", "1 ", "0", "9" * 20, "1\n"])
def test_a_token_whose_subject_is_not_plain_ascii_digits_of_a_user_id_is_401(client, config, accounts, sub):
    assert accounts["admin"] == 1  # so that a reading of Arabic-Indic one as 1 would find a user
    token = _signed(config, sub=sub, exp=int(time.time()) + 600)
    result = client.simulate_get("/api/auth/me", headers=bearer(token))
    assert result.status_code == 401 and result.json["error"]["code"] == "INVALID_TOKEN"


def test_an_oversized_bearer_token_is_401_invalid_token(client, accounts):
    result = client.simulate_get("/api/auth/me", headers=bearer("a" * 100_000))
    assert result.status_code == 401 and result.json["error"]["code"] == "INVALID_TOKEN"


@pytest.mark.parametrize(
    "given", ["a" * 65, "r\u00e9quest", "\u0661\u0662\u0663", "two words", "a/b", "semi;colon", "<x>"]
)
def test_a_client_request_id_outside_1_to_64_safe_ascii_characters_is_replaced(client, given):
    answered = client.simulate_get("/health", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert answered != given and len(answered) == 32


def test_a_sane_client_request_id_is_kept(client):
    given = "A-z_0.9" + "x" * 57
    assert client.simulate_get("/health", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


def _live_refresh_tokens(database_url, user_id) -> list[tuple[str, bytes]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT family_id::text, token_hash FROM refresh_tokens WHERE user_id = %s AND revoked_at IS NULL",
            (user_id,),
        ).fetchall()


def test_refresh_in_reuse_mode_keeps_at_most_ten_tokens_per_login_and_the_login_token_stays_valid(
    client, accounts, database_url
):
    first = login(client, "operator").json["refresh_token"]
    issued = []
    for _ in range(25):
        answer = client.simulate_post("/api/auth/refresh", json={}, headers=bearer(first))
        assert answer.status_code == 200
        issued.append(answer.json["refresh_token"])
    assert len(_live_refresh_tokens(database_url, accounts["operator"])) <= 10
    for token in (first, issued[-1]):
        assert client.simulate_post("/api/auth/refresh", json={}, headers=bearer(token)).status_code == 200


def test_a_user_keeps_at_most_50_logins_and_the_oldest_ends(client, db, accounts, database_url):
    oldest = None
    for _ in range(55):
        token, token_hash = new_refresh_token()
        oldest = oldest or token
        family = {
            "user_id": accounts["operator"],
            "family_id": new_family(),
            "token_hash": token_hash,
            "days": 7,
        }
        db.query("issue_refresh_token", family)
    assert len({family for family, _ in _live_refresh_tokens(database_url, accounts["operator"])}) == 50
    assert client.simulate_post("/api/auth/refresh", json={}, headers=bearer(oldest)).status_code == 401
    fresh = login(client, "operator").json["refresh_token"]
    assert client.simulate_post("/api/auth/refresh", json={}, headers=bearer(fresh)).status_code == 200


def test_the_janitor_trims_each_users_kept_idempotency_answers_to_the_newest_1000(db, accounts, database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        for name, count in (("operator", 1005), ("admin", 10)):
            conn.execute(
                "INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body, created_at) "
                "SELECT %s, 'k' || n, '\\x00', 201, '\\x7b7d', now() - n * interval '1 second' "
                "FROM generate_series(1, %s) AS n",
                (accounts[name], count),
            )
    assert Janitor(db).trim_idempotency_keys(batch=2) == 5
    with psycopg.connect(database_url) as conn:
        kept = dict(
            conn.execute("SELECT user_id, count(*) FROM idempotency_keys GROUP BY user_id").fetchall()
        )
        oldest = conn.execute(
            "SELECT count(*) FROM idempotency_keys WHERE key IN ('k1001', 'k1002', 'k1003', 'k1004', 'k1005')"
        ).fetchone()[0]
    assert kept == {accounts["operator"]: 1000, accounts["admin"]: 10}
    assert oldest == 0


# --- finding 6: what reaches the app through gunicorn -----------------------------------------------


def _raw(
    server, method: str, target: str, headers: dict[str, str]
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        reply = conn.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        conn.close()


def _raw_bytes(server, request: bytes) -> bytes:
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture(scope="module")
def server(pg_server, clones, account_ids):
    """One real server for this module's read-only requests (a boot costs ~1 s of two workers)."""
    name = clones.take(TEMPLATE_WITH_ACCOUNTS)
    running = Server(_as_url(_with_database(pg_server, name)))
    yield running
    running.stop()
    clones.give_back(name)


def _server_token(server) -> str:
    body = json.dumps({"username": "admin", "password": PASSWORDS["admin"]})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/api/auth/login", body, {"Content-Type": "application/json"})
        return json.loads(conn.getresponse().read())["access_token"]
    finally:
        conn.close()


def test_the_real_server_answers_a_5000_character_cursor_in_the_envelope(server):
    status, headers, body = _raw(
        server,
        "GET",
        "/api/articles?cursor=" + "A" * 5000,
        {"Authorization": f"Bearer {_server_token(server)}"},
    )
    assert status == 400
    assert json.loads(body)["error"]["details"]["fields"]["cursor"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_real_server_answers_a_100_kb_authorization_header_in_the_envelope(server):
    status, headers, body = _raw(server, "GET", "/api/auth/me", {"Authorization": "Bearer " + "a" * 100_000})
    assert status == 401
    assert json.loads(body)["error"]["code"] == "INVALID_TOKEN"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_what_gunicorn_still_answers_itself_is_a_4xx_as_docs_hardening_says(server):
    too_long = _raw_bytes(
        server, b"GET /api/articles?cursor=" + b"A" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    control = _raw_bytes(server, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n")
    assert too_long.startswith(b"HTTP/1.1 414 ")
    assert control.startswith(b"HTTP/1.1 400 ")
    documented = (PROJECT_ROOT / "docs" / "hardening.md").read_text()
    assert "414" in documented and "\\x01" in documented


def test_gunicorn_conf_takes_bind_and_worker_counts_from_the_validated_config(monkeypatch, database_url):
    for name, value in {
        "DATABASE_URL": database_url,
        "JWT_SECRET": "g" * 40,  # weighin serve exports the (development) key before gunicorn starts
        "HOST": " 127.0.0.1 ",
        "PORT": " 5002 ",
        "WEB_CONCURRENCY": "3",
        "THREADS": "",
    }.items():
        monkeypatch.setenv(name, value)
    settings = runpy.run_path(str(Path(PROJECT_ROOT) / "gunicorn.conf.py"))
    assert settings["bind"] == "127.0.0.1:5002"
    assert (settings["workers"], settings["threads"], settings["worker_class"]) == (3, 2, "gthread")
    monkeypatch.setenv("THREADS", "lots")
    with pytest.raises(ValueError, match="THREADS must be a whole number"):
        runpy.run_path(str(Path(PROJECT_ROOT) / "gunicorn.conf.py"))
