"""Health, the OpenAPI description, and the error envelope for every kind of failure."""

from __future__ import annotations

import falcon
from falcon import inspect, testing

from service.app import create_app
from service.openapi import public_path


def assert_envelope(result, status: int, code: str) -> dict:
    assert result.status_code == status, result.text
    error = result.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], dict)
    return error


def test_health_answers_ok_when_the_database_answers(client):
    result = client.simulate_get("/health")
    assert result.status_code == 200
    assert result.json["status"] == "ok"
    assert result.json["database"] == "ok"
    assert result.json["version"]


def test_every_response_carries_a_request_id_and_security_headers(client):
    result = client.simulate_get("/health", headers={"X-Request-ID": "abc-123"})
    assert result.headers["X-Request-ID"] == "abc-123"
    assert result.headers["X-Content-Type-Options"] == "nosniff"
    generated = client.simulate_get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert generated.headers["X-Request-ID"] != "bad id with spaces"
    assert len(generated.headers["X-Request-ID"]) == 32


def test_unknown_route_is_404_not_found(client):
    assert_envelope(client.simulate_get("/no/such/thing"), 404, "NOT_FOUND")


def test_wrong_method_is_405(client):
    result = client.simulate_delete("/health")
    assert_envelope(result, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in result.headers["Allow"]


class _Echo:
    auth = None

    def on_post(self, req, resp):
        resp.media = {"got": req.get_media()}


class _Boom:
    auth = None

    def on_get(self, req, resp):
        raise RuntimeError("secret internals: SELECT password_hash FROM users")


def _app_with_test_routes(config, db):
    app = create_app(config, db)
    app.add_route("/test/echo", _Echo())
    app.add_route("/test/boom", _Boom())
    return testing.TestClient(app)


def test_malformed_json_is_400_validation_error(config, db):
    client = _app_with_test_routes(config, db)
    result = client.simulate_post("/test/echo", body=b'{"a": ', headers={"Content-Type": "application/json"})
    assert_envelope(result, 400, "VALIDATION_ERROR")


def test_deeply_nested_json_is_400_not_500(config, db):
    client = _app_with_test_routes(config, db)
    body = b"[" * 5000 + b"]" * 5000
    result = client.simulate_post("/test/echo", body=body, headers={"Content-Type": "application/json"})
    assert_envelope(result, 400, "VALIDATION_ERROR")


def test_wrong_content_type_is_415(config, db):
    client = _app_with_test_routes(config, db)
    result = client.simulate_post("/test/echo", body=b"a=1", headers={"Content-Type": "text/plain"})
    assert_envelope(result, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_over_the_limit_is_413_before_parsing(config, db):
    client = _app_with_test_routes(config, db)
    body = b'{"x": "' + b"a" * (config.max_body_bytes + 10) + b'"}'
    result = client.simulate_post("/test/echo", body=body, headers={"Content-Type": "application/json"})
    assert_envelope(result, 413, "PAYLOAD_TOO_LARGE")


def test_unhandled_exception_is_500_without_internals_but_with_the_request_id(config, db):
    client = _app_with_test_routes(config, db)
    result = client.simulate_get("/test/boom", headers={"X-Request-ID": "req-42"})
    error = assert_envelope(result, 500, "INTERNAL_ERROR")
    assert "secret" not in result.text and "SELECT" not in result.text
    assert error["details"]["request_id"] == "req-42"


def test_openapi_describes_every_route_and_method(client):
    spec = client.simulate_get("/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    missing = []
    for route in inspect.inspect_routes(client.app):
        for method in route.methods:
            if method.internal or method.method == "OPTIONS":
                continue
            if method.method.lower() not in spec["paths"].get(public_path(route.path), {}):
                missing.append(f"{method.method} {route.path}")
    assert missing == []


def test_openapi_lists_no_route_the_app_does_not_serve(client):
    spec = client.simulate_get("/openapi.json").json
    served = {public_path(r.path) for r in inspect.inspect_routes(client.app)}
    assert set(spec["paths"]) <= served


def test_falcon_http_errors_keep_their_headers(client):
    # 405 from the router keeps Allow; a sanity check that the handler does not drop headers
    assert client.simulate_post("/health").headers.get("Allow")
    assert falcon.HTTPMethodNotAllowed(["GET"]).headers["Allow"] == "GET"


def test_a_nul_character_in_a_string_is_400_not_500(config, db):
    client = _app_with_test_routes(config, db)
    result = client.simulate_post(
        "/test/echo", body=b'{"a": "x\\u0000y"}', headers={"Content-Type": "application/json"}
    )
    assert_envelope(result, 400, "VALIDATION_ERROR")


def test_openapi_documents_a_non_empty_schema_for_every_2xx_answer(client):
    spec = client.simulate_get("/openapi.json").json
    components = spec["components"]["schemas"]
    empty = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    continue
                if status == "204":  # no content, and none documented
                    assert "content" not in answer, (method, path)
                    continue
                if path == "/metrics":  # Prometheus's text format, not JSON
                    assert list(answer["content"]) == ["text/plain; version=1.0.0"]
                    continue
                schema = answer["content"]["application/json"]["schema"]
                resolved = components[schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema
                if not resolved.get("properties") or not resolved.get("required"):
                    empty.append(f"{method.upper()} {path} {status}")
    assert empty == []


def test_openapi_documents_the_errors_the_service_answers(client):
    spec = client.simulate_get("/openapi.json").json
    paths = spec["paths"]
    for path, item in paths.items():
        for method, op in item.items():
            if "requestBody" in op or any(p["in"] != "path" for p in op.get("parameters", [])):
                assert "400" in op["responses"], (method, path)  # bad parameters or body
    assert "401" in paths["/api/auth/refresh"]["post"]["responses"]
    for report in ("/api/reports/inventory", "/api/reports/transactions"):
        assert "text/csv" in paths[report]["get"]["responses"]["200"]["content"]
    keyed = paths["/api/draft-groups"]["post"]
    assert {"409", "422"} <= set(keyed["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in keyed["parameters"])
    assert not paths["/api/draft-groups/{id}/approve"]["post"]["requestBody"][
        "required"
    ]  # the app sends none
