"""Who may call what: the role matrix over every registered route, and role / is_active changes
biting within 5 s for tokens already issued."""

from __future__ import annotations

import re

from falcon import inspect, testing

from service import auth
from service.app import create_app

from .conftest import bearer, login, make_config

OK, UNAUTHORIZED, FORBIDDEN = "ok", 401, 403
PUBLIC = (OK, OK, OK)
ANY = (UNAUTHORIZED, OK, OK)
ADMIN = (UNAUTHORIZED, FORBIDDEN, OK)

# (method, path) -> outcome for (no token, operator token, admin token). A route added without a row
# here fails test_every_route_has_an_access_decision.
EXPECTED = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    # no token: guarded by the client's address instead (METRICS_ALLOW; the test client is loopback)
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    # refresh takes a refresh token, never an access token
    ("POST", "/api/auth/refresh"): (UNAUTHORIZED, UNAUTHORIZED, UNAUTHORIZED),
    ("POST", "/api/auth/logout"): ANY,
    ("GET", "/api/auth/me"): ANY,
    ("POST", "/api/auth/change-password"): ANY,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("PATCH", "/api/users/{id}"): ADMIN,
    ("GET", "/api/draft-groups"): ANY,
    ("POST", "/api/draft-groups"): ANY,
    ("GET", "/api/draft-groups/{id}"): ANY,
    ("PATCH", "/api/draft-groups/{id}"): ANY,
    ("POST", "/api/draft-groups/{id}/approve"): ADMIN,
    ("POST", "/api/draft-groups/{id}/reject"): ADMIN,
    ("GET", "/api/drafts"): ANY,
    ("POST", "/api/drafts"): ANY,
    ("GET", "/api/drafts/{id}"): ANY,
    ("PATCH", "/api/drafts/{id}"): ANY,
    ("POST", "/api/drafts/{id}/approve"): ADMIN,
    ("POST", "/api/drafts/{id}/reject"): ADMIN,
    # master data and inventory: operators read what they need to weigh in, admins change it
    ("GET", "/api/locations"): ANY,
    ("POST", "/api/locations"): ADMIN,
    ("GET", "/api/articles"): ANY,
    ("POST", "/api/articles"): ADMIN,
    ("GET", "/api/articles/resolve"): ANY,
    ("GET", "/api/articles/{article}"): ANY,
    ("PATCH", "/api/articles/{article}"): ADMIN,
    ("DELETE", "/api/articles/{article}"): ADMIN,
    ("POST", "/api/articles/{article}/archive"): ADMIN,
    ("POST", "/api/articles/{article}/restore"): ADMIN,
    ("GET", "/api/articles/{article}/aliases"): ADMIN,
    ("POST", "/api/articles/{article}/aliases"): ADMIN,
    ("DELETE", "/api/articles/{article}/aliases/{alias_id}"): ADMIN,
    ("GET", "/api/articles/{article}/batches"): ANY,
    ("POST", "/api/batches"): ADMIN,
    ("PATCH", "/api/batches/{id}"): ADMIN,
    ("GET", "/api/inventory/summary"): ANY,
    ("POST", "/api/inventory/receive"): ADMIN,
    ("GET", "/api/inventory/receipts"): ADMIN,
    ("POST", "/api/inventory/count"): ADMIN,
    ("POST", "/api/inventory/adjust"): ADMIN,
    ("GET", "/api/inventory/reconcile"): ADMIN,
    ("POST", "/api/inventory/transfer"): ADMIN,
    ("GET", "/api/audit"): ADMIN,
    ("GET", "/api/transactions"): ADMIN,
    ("GET", "/api/reports/inventory"): ADMIN,
    ("GET", "/api/reports/transactions"): ADMIN,
    # the stock reads of SPEC §10
    ("GET", "/api/inventory/low-stock"): ANY,
    ("GET", "/api/inventory/expiring"): ANY,
    ("GET", "/api/reports/consumption"): ADMIN,
}


def _routes(app):
    for route in inspect.inspect_routes(app):
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", route.path)
        for method in route.methods:
            if not method.internal and method.method != "OPTIONS":
                yield method.method, path


def test_every_route_has_an_access_decision(client):
    assert sorted(set(_routes(client.app)) - set(EXPECTED)) == []


def _outcome(result) -> object:
    return result.status_code if result.status_code in (401, 403) else OK


def test_role_matrix(client, tokens):
    callers = (None, tokens["operator"], tokens["admin"])
    seen = {}
    # logout without a refresh token ends every login of the caller (SPEC §8), so it is called last
    for method, path in sorted(set(_routes(client.app)), key=lambda r: (r[1] == "/api/auth/logout", r)):
        concrete = re.sub(r"\{\w+\}", "999999", path)
        outcomes = []
        for token in callers:
            result = client.simulate_request(
                method,
                concrete,
                json={} if method in ("POST", "PATCH") else None,
                headers=bearer(token) if token else {},
            )
            outcomes.append(_outcome(result))
        seen[(method, path)] = tuple(outcomes)
    assert seen == {key: EXPECTED[key] for key in seen}


def test_a_forbidden_answer_names_the_required_role(client, as_operator):
    result = client.simulate_get("/api/users", headers=as_operator)
    assert result.json["error"] == {
        "code": "FORBIDDEN",
        "message": result.json["error"]["message"],
        "details": {"required_role": "ADMIN"},
    }


def test_deactivation_makes_an_existing_access_token_fail_within_5_seconds(
    database_url, db, accounts, as_admin, clock
):
    # two app instances = two workers with their own user caches
    worker_a = testing.TestClient(create_app(make_config(database_url), db))
    worker_b = testing.TestClient(create_app(make_config(database_url), db))
    operator = bearer(login(worker_b, "operator").json["access_token"])
    assert worker_b.simulate_get("/api/auth/me", headers=operator).status_code == 200  # cached in worker b
    deactivate = worker_a.simulate_patch(
        f"/api/users/{accounts['operator']}", headers=as_admin, json={"is_active": False}
    )
    assert deactivate.status_code == 200
    clock.advance(auth.CACHE_SECONDS - 0.5)  # still cached in worker b: the old answer
    assert worker_b.simulate_get("/api/auth/me", headers=operator).status_code == 200
    clock.advance(1.0)  # past the cache's lifetime, within 5 s of the change
    assert auth.CACHE_SECONDS + 0.5 <= 5.0
    assert worker_b.simulate_get("/api/auth/me", headers=operator).status_code == 401


def test_demotion_bites_within_5_seconds(database_url, db, accounts, as_admin, clock):
    worker_a = testing.TestClient(create_app(make_config(database_url), db))
    worker_b = testing.TestClient(create_app(make_config(database_url), db))
    worker_a.simulate_patch(f"/api/users/{accounts['operator']}", headers=as_admin, json={"role": "ADMIN"})
    promoted = bearer(login(worker_b, "operator").json["access_token"])
    assert worker_b.simulate_get("/api/users", headers=promoted).status_code == 200
    worker_a.simulate_patch(f"/api/users/{accounts['operator']}", headers=as_admin, json={"role": "OPERATOR"})
    clock.advance(auth.CACHE_SECONDS - 0.5)
    assert worker_b.simulate_get("/api/users", headers=promoted).status_code == 200
    clock.advance(1.0)
    assert worker_b.simulate_get("/api/users", headers=promoted).status_code == 403
