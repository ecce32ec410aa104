"""The OpenAPI 3.1 description, assembled from the route catalog and each resource's `doc`."""

from __future__ import annotations

import copy
import inspect
import re
from typing import Any

import msgspec

from . import __version__
from .auth import ADMIN, ANY, PUBLIC
from .exports import MEDIA_XLSX

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
    *,
    access: str = ANY,
    body: dict[str, Any] | None = None,
    body_required: bool = True,
    ok: int = 200,
    response: type | None = None,
    files: bool = False,
    errors: tuple[int, ...] = (),
    params: list[dict[str, Any]] | None = None,
    database: bool = True,
    text: str | None = None,
) -> dict[str, Any]:
    """One operation object; its summary is the responder's docstring (`document` adds it). `access`
    (PUBLIC, ANY signed-in user, ADMIN) is also what the auth middleware enforces, so the description and
    the behaviour cannot drift apart. `response` is the answer's shape (a Struct of service/shapes.py;
    `document` turns it into a schema); a 204 has none. The error statuses every such operation can
    answer are added here: 400 for a body or parameters, 413/415 for a body, 401/403 for access, 503 for
    the database. `text`: the answer is plain text of that media type instead (/metrics)."""
    public, role = access == PUBLIC, (access if access not in (PUBLIC, ANY) else None)
    if ok == 204:
        responses: dict[str, Any] = {"204": {"description": "No content"}}
    else:
        content: dict[str, Any] = {"application/json": {"schema": response}}
        if text:
            content = {text: {"schema": {"type": "string"}}}
        if files:  # a report: also a CSV file and an XLSX workbook
            content["text/csv"] = {"schema": {"type": "string"}}
            content[MEDIA_XLSX] = {"schema": {"type": "string", "contentMediaType": MEDIA_XLSX}}
        responses = {str(ok): {"description": "OK", "content": content}}
    codes = set(errors)
    if body is not None:
        codes |= {400, 413, 415}
    if params:
        codes.add(400)
    if not public:
        codes.add(401)
    if role:
        codes.add(403)
    if database:
        codes.add(503)
    for code in sorted(codes):
        responses[str(code)] = {"$ref": "#/components/responses/Error"}
    op: dict[str, Any] = {"responses": responses, "x-access": access}
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {"schema": body}}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def creates(body: dict, response: type, errors: tuple[int, ...] = (), *, access: str = ADMIN):
    """An admin's POST that answers 201 with what it made."""
    return operation(access=access, body=body, ok=201, response=response, errors=errors)


def changes(body: dict, response: type, errors: tuple[int, ...] = (), *, access: str = ADMIN, **more):
    """A write with a body (an admin's, unless `access` says otherwise) that answers 200."""
    return operation(access=access, body=body, response=response, errors=errors, **more)


def reads(response: type, errors: tuple[int, ...] = (), *, access: str = ANY, **more):
    """A read without a body: `more` may hold its query `params` and `files` (a report's CSV and XLSX)."""
    return operation(access=access, response=response, errors=errors, **more)


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


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "a repeat with the same key and request gets the kept answer",
}


def summary(responder) -> str:
    """An operation's summary: the first paragraph of its responder's docstring, on one line."""
    return " ".join(inspect.getdoc(responder).split("\n\n")[0].split()).removesuffix(".")


def document(routes) -> dict[str, Any]:
    """The whole description. Responders decorated `@keyed` take an Idempotency-Key (409 while the first
    request runs, 422 for another request under the same key)."""
    paths: dict[str, Any] = {}
    shapes: list[type] = []
    for route in routes:
        doc = getattr(route.resource, f"doc_{route.suffix}" if route.suffix else "doc", {})
        path = public_path(route.path)
        item = paths.setdefault(path, {})
        for method in METHODS:
            if method not in doc:
                continue
            responder = getattr(route.resource, f"on_{method}" + (f"_{route.suffix}" if route.suffix else ""))
            op = {"summary": summary(responder), **copy.deepcopy(doc[method])}  # the doc stays as declared
            names = [seg[1:-1] for seg in path.split("/") if seg.startswith("{")]
            parameters = [
                {"name": n, "in": "path", "required": True, "schema": _path_schema(n)} for n in names
            ] + op.get("parameters", [])
            if names:
                op["responses"].setdefault("404", {"$ref": "#/components/responses/Error"})
            if getattr(responder, "keyed", False):
                parameters.append(IDEMPOTENCY_KEY)
                for code in ("400", "409", "422"):
                    op["responses"].setdefault(code, {"$ref": "#/components/responses/Error"})
            if parameters:
                op["parameters"] = parameters
            op["responses"] = dict(sorted(op["responses"].items()))
            for answer in op["responses"].values():
                for media in answer.get("content", {}).values():
                    if not isinstance(media["schema"], dict):  # a shape (Struct or Page[...])
                        shapes.append(media["schema"])
            item[method] = op
    refs, components = msgspec.json.schema_components(shapes, ref_template="#/components/schemas/{name}")
    by_shape = dict(zip(shapes, refs, strict=True))
    for item in paths.values():
        for op in item.values():
            for answer in op["responses"].values():
                for media in answer.get("content", {}).values():
                    if not isinstance(media["schema"], dict):  # a shape (Struct or Page[...])
                        media["schema"] = by_shape[media["schema"]]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Weigh-in Service", "version": __version__},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": ERROR_SCHEMA, **components},
            "responses": {
                "Error": {
                    "description": "An error in the standard envelope",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
            },
        },
        "security": [{"bearer": []}],
    }
