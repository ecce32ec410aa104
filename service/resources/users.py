"""User management (ADMIN): list, create, change role / is_active / password."""

from __future__ import annotations

import falcon

from .. import shapes, usernames
from ..auth import ADMIN, UserCache
from ..db import REPEATABLE_READ, Database
from ..errors import Conflict, NotFound, ValidationFailed
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import operation, query
from ..pagination import Page
from ..passwords import MAX_LENGTH, Passwords, password_problem
from ..validation import Schema, obj, text

ROLE = {"enum": ["ADMIN", "OPERATOR"]}
USER_FIELDS = shapes.User.__struct_fields__
CREATE = Schema(
    obj(
        {"username": text(100, pattern=r"\S"), "password": text(MAX_LENGTH), "role": ROLE},
        ["username", "password", "role"],
    )
)
UPDATE = Schema(
    {
        **obj({"role": ROLE, "is_active": {"type": "boolean"}, "password": text(MAX_LENGTH)}),
        "minProperties": 1,
    }
)
PAGE_PARAMS = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
    query("cursor", {"type": "string"}),
]


class Users:
    doc = {
        "get": operation("List users", access=ADMIN, params=PAGE_PARAMS, response=shapes.Page[shapes.User]),
        "post": operation(
            "Create a user", access=ADMIN, body=CREATE.schema, ok=201, response=shapes.User, errors=(409,)
        ),
    }

    def __init__(self, db: Database, passwords: Passwords):
        self.db = db
        self.passwords = passwords

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        if wants_whole_list(req):
            params = {"after_id": None, "limit": None}
            return answer_whole(resp, self.db, "list_users", params, USER_FIELDS)
        rows, total = self.db.transaction(
            ("list_users", page.params()), ("count_users", None), isolation=REPEATABLE_READ
        )
        resp.media = page.answer(rows, total["total"])

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = CREATE.parse(req)
        problem = password_problem(body["password"])
        if problem:
            raise ValidationFailed({"password": problem})
        try:
            username = usernames.normalised(body["username"])
        except ValueError as problem:
            raise ValidationFailed({"username": str(problem)}) from None
        user = db.query(
            "create_user",
            {
                "username": username,
                "username_key": usernames.key(username),
                "role": body["role"],
                "password_hash": self.passwords.hash(body["password"]),
            },
        )
        if user is None:
            raise Conflict("DUPLICATE_USERNAME", f"The username {username!r} is taken.", username=username)
        resp.status = falcon.HTTP_201
        resp.media = user


class UserItem:
    doc = {
        "patch": operation(
            "Change a user's role, is_active or password; the last active admin stays one",
            access=ADMIN,
            body=UPDATE.schema,
            response=shapes.User,
            errors=(404, 409),
        )
    }

    def __init__(self, db: Database, users: UserCache, passwords: Passwords):
        self.passwords = passwords
        self.db = db
        self.users = users

    @keyed()
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        body = UPDATE.parse(req)
        if "password" in body and (problem := password_problem(body["password"])):
            raise ValidationFailed({"password": problem})
        params = {
            "id": id,
            "role": body.get("role"),
            "is_active": body.get("is_active"),
            "password_hash": self.passwords.hash(body["password"]) if "password" in body else None,
        }
        result = db.write("update_user", params)
        if not result["found"]:
            raise NotFound("user", id=id)
        if result["id"] is None:
            raise Conflict("LAST_ADMIN", "The last active admin cannot be demoted or deactivated.")
        self.users.forget(id)
        resp.media = {field: result[field] for field in USER_FIELDS}
