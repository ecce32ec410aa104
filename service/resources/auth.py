"""Sign-in and tokens: login, refresh, logout, me, change-password. HTTP in and out; the work is
service/accounts.py's."""

from __future__ import annotations

import functools

import falcon

from .. import accounts, shapes
from ..auth import ANY, PUBLIC, UserCache, bearer_token
from ..db import Database
from ..idempotency import keyed, not_keyed
from ..openapi import changes, reads
from ..passwords import MAX_LENGTH, Passwords
from ..ratelimit import LoginLimit, PasswordGuessLimit
from ..tokens import TokenIssuer
from ..validation import Schema, obj, text

LOGIN = Schema(obj({"username": text(100), "password": text(MAX_LENGTH)}, ["username", "password"]))
EMPTY = Schema(obj({}))
LOGOUT = Schema(obj({"refresh_token": text(200)}))
CHANGE_PASSWORD = Schema(
    obj(
        {"current_password": text(MAX_LENGTH), "new_password": {"type": "string"}},
        ["current_password", "new_password"],
    )
)


class Login:
    doc = {"post": changes(LOGIN.schema, shapes.Tokens, (401, 429), access=PUBLIC)}

    def __init__(self, db: Database, tokens: TokenIssuer, limit: LoginLimit, passwords: Passwords):
        self.db = db
        self.tokens = tokens
        self.limit = limit
        self.passwords = passwords

    @not_keyed("a repeat signs in again; tokens are not kept")
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Sign in; 6 attempts a minute per client IP."""
        self.limit.hit(req)
        body = LOGIN.parse(req)
        resp.media = accounts.login(db, self.passwords, self.tokens, body["username"], body["password"])


class Refresh:
    doc = {"post": changes(EMPTY.schema, shapes.Tokens, (401,), access=PUBLIC, body_required=False)}

    def __init__(self, db: Database, tokens: TokenIssuer, strict: bool):
        self.db = db
        self.tokens = tokens
        self.strict = strict

    @not_keyed("the refresh token itself is the key: a repeat is refused once it has rotated")
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """New access and refresh tokens for a refresh token sent as Bearer."""
        presented = bearer_token(req)
        if req.content_length:
            EMPTY.parse(req)
        resp.media = accounts.refresh(db, self.tokens, presented, self.strict)


class Logout:
    doc = {"post": changes(LOGOUT.schema, shapes.Revoked, access=ANY, body_required=False)}

    def __init__(self, db: Database, users: UserCache):
        self.db = db
        self.users = users

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """End a login: revoke a refresh token's family and its access tokens (without a refresh token, all
        of the caller's logins)."""
        body = LOGOUT.parse(req) if req.content_length else {}
        revoked = accounts.logout(db, self.users, req.context.user.id, body.get("refresh_token"))
        resp.media = {"revoked": revoked}


class Me:
    doc = {"get": reads(shapes.Me)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The signed-in user."""
        resp.media = req.context.user._asdict()


class ChangePassword:
    doc = {"post": changes(CHANGE_PASSWORD.schema, shapes.PasswordChanged, (429,), access=ANY)}

    def __init__(self, db: Database, guesses: PasswordGuessLimit, users: UserCache, passwords: Passwords):
        self.passwords = passwords
        self.db = db
        self.guesses = guesses
        self.users = users

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        """Change one's own password; the user's other logins end (refresh and access tokens). Failed checks
        of the current password are limited per user and per client IP."""
        body = CHANGE_PASSWORD.parse(req)
        accounts.change_password(
            db,
            self.passwords,
            self.users,
            functools.partial(self.guesses.verify, req),
            req.context.user.id,
            body["current_password"],
            body["new_password"],
            req.context.token_family,
        )
        resp.media = {"changed": True}
