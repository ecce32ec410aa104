"""The OpenAPI 3.1 description, assembled from the route catalog and each resource's `doc`."""

from __future__ import annotations

import re
from typing import Any

from . import __version__
from .auth import ANY, PUBLIC

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}

METHODS = ("get", "post", "put", "patch", "delete")


def operation(
    summary: str,
    *,
    access: str = ANY,
    body: dict[str, Any] | None = None,
    ok: int = 200,
    response: dict[str, Any] | None = None,
    errors: tuple[int, ...] = (),
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One operation object. `access` (PUBLIC, ANY signed-in user, ADMIN) is also what the auth
    middleware enforces, so the description and the behaviour cannot drift apart."""
    public, role = access == PUBLIC, (access if access not in (PUBLIC, ANY) else None)
    responses: dict[str, Any] = {
        str(ok): {"description": "OK", "content": {"application/json": {"schema": response or {}}}},
    }
    codes = set(errors)
    if body is not None:
        codes.add(400)
    if not public:
        codes.add(401)
    if role:
        codes.add(403)
    for code in sorted(codes):
        responses[str(code)] = {"$ref": "#/components/responses/Error"}
    op: dict[str, Any] = {"summary": summary, "responses": responses, "x-access": access}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def public_path(template: str) -> str:
    """`/api/users/{id:id}` -> `/api/users/{id}`."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", template)


def _path_schema(name: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1} if name.endswith("id") else {"type": "string"}


def access_rules(routes) -> dict[tuple[str, str], str]:
    """(path template, HTTP method) -> access rule, for the auth middleware."""
    rules = {}
    for route in routes:
        doc = getattr(route.resource, f"doc_{route.suffix}" if route.suffix else "doc", {})
        for method, op in doc.items():
            rules[(route.path, method.upper())] = op["x-access"]
    return rules


def document(routes) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        doc = getattr(route.resource, f"doc_{route.suffix}" if route.suffix else "doc", {})
        path = public_path(route.path)
        item = paths.setdefault(path, {})
        for method in METHODS:
            if method in doc:
                op = dict(doc[method])
                names = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
                if names:
                    op["parameters"] = [
                        {"name": n, "in": "path", "required": True, "schema": _path_schema(n)} for n in names
                    ] + op.get("parameters", [])
                item[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Weigh-in Service", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {
                "Error": {
                    "description": "An error in the standard envelope",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
        },
        "security": [{"bearer": []}],
    }
