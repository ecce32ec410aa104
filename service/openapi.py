"""The OpenAPI 3.1 description, assembled from the route catalog and each resource's `doc`."""

from __future__ import annotations

from typing import Any

from . import __version__

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


def operation(summary: str, *, public: bool = False, role: str | None = None,
              body: dict[str, Any] | None = None, ok: int = 200, response: dict[str, Any] | None = None,
              errors: tuple[int, ...] = (), params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """One operation object; `role` is the role required (None: any signed-in user)."""
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
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    if role:
        op["x-required-role"] = role
    return op


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _path_schema(name: str) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1} if name.endswith("id") else {"type": "string"}


def document(routes) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        doc = getattr(route.resource, f"doc_{route.suffix}" if route.suffix else "doc", {})
        item = paths.setdefault(route.path, {})
        for method in METHODS:
            if method in doc:
                op = dict(doc[method])
                names = [seg[1:-1] for seg in route.path.split("/") if seg.startswith("{")]
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
