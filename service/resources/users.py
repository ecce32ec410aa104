"""User management (ADMIN): list, create, change role / is_active / password. HTTP in and out; the work
is service/accounts.py's."""

from __future__ import annotations

import falcon

from .. import accounts, shapes
from ..accounts import ROLES, USER_FIELDS
from ..auth import ADMIN, UserCache
from ..db import Database
from ..idempotency import keyed
from ..listing import answer_whole, wants_whole_list
from ..openapi import changes, creates, query, reads
from ..pagination import Page
from ..passwords import MAX_LENGTH, Passwords
from ..validation import Schema, obj, text
from . import Resource

ROLE = {"enum": list(ROLES)}
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


class Users(Resource):
    doc = {
        "get": reads(shapes.Page[shapes.User], access=ADMIN, params=PAGE_PARAMS),
        "post": creates(CREATE.schema, shapes.User, (409,)),
    }

    def __init__(self, db: Database, passwords: Passwords):
        super().__init__(db)
        self.passwords = passwords

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """List users."""
        page = Page(req)
        if wants_whole_list(req):
            params = {"after_id": None, "limit": None}
            return answer_whole(resp, self.db, "list_users", params, USER_FIELDS)
        rows, total = accounts.list_users(self.db, page.params())
        resp.media = page.answer(rows, total)

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Create a user."""
        body = CREATE.parse(req)
        user = accounts.create_user(db, self.passwords, body["username"], body["password"], body["role"])
        resp.status = falcon.HTTP_201
        resp.media = user


class UserItem(Resource):
    doc = {"patch": changes(UPDATE.schema, shapes.User, (404, 409))}

    def __init__(self, db: Database, users: UserCache, passwords: Passwords):
        super().__init__(db)
        self.passwords = passwords
        self.users = users

    @keyed()
    def on_patch(self, req: falcon.Request, resp: falcon.Response, db: Database, id: int) -> None:
        """Change a user's role, is_active or password; the last active admin stays one."""
        body = UPDATE.parse(req)
        resp.media = accounts.update_user(db, self.passwords, self.users, id, **body)
