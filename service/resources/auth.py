"""Sign-in and tokens: login, refresh, logout, me, change-password."""

from __future__ import annotations

import falcon

from .. import shapes, usernames
from ..auth import PUBLIC, UserCache, bearer_token
from ..db import Database, Statements
from ..errors import Unauthorized, ValidationFailed
from ..openapi import operation
from ..passwords import MAX_LENGTH, Passwords, password_problem
from ..ratelimit import LoginLimit, PasswordGuessLimit
from ..tokens import TokenIssuer, digest, new_family, new_refresh_token
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
BAD_CREDENTIALS = ("INVALID_CREDENTIALS", "Unknown user, wrong password or disabled account.")


def public_user(row) -> dict:
    return {"id": row["id"], "username": row["username"], "role": row["role"], "is_active": row["is_active"]}


class TokenResponder:
    """Issues an access token and a refresh token for a user in a login family."""

    def __init__(self, db: Database, sql: Statements, tokens: TokenIssuer):
        self.db = db
        self.sql = sql
        self.tokens = tokens

    def answer(self, user, family: str, refresh_token: str) -> dict:
        return {
            "access_token": self.tokens.access_token(user["id"], user["role"], family),
            "refresh_token": refresh_token,
            "token_type": "Bearer",
            "expires_in": self.tokens.access_seconds,
            "user": public_user(user),
        }


class Login(TokenResponder):
    doc = {
        "post": operation(
            "Sign in; 6 attempts a minute per client IP",
            access=PUBLIC,
            body=LOGIN.schema,
            response=shapes.Tokens,
            errors=(401, 429),
        )
    }

    def __init__(
        self, db: Database, sql: Statements, tokens: TokenIssuer, limit: LoginLimit, passwords: Passwords
    ):
        super().__init__(db, sql, tokens)
        self.limit = limit
        self.passwords = passwords

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.limit.hit(req)
        body = LOGIN.parse(req)
        with self.db.connection() as conn:
            user = conn.execute(
                self.sql.user_for_login, {"username_key": usernames.key(body["username"])}
            ).fetchone()
        # verify spends a full hash even for an unknown user
        if (
            not self.passwords.verify(user and user["password_hash"], body["password"])
            or not user["is_active"]
        ):
            raise Unauthorized(*BAD_CREDENTIALS)
        family = new_family()
        refresh, refresh_digest = new_refresh_token()
        with self.db.transaction() as conn:
            if self.passwords.needs_rehash(user["password_hash"]):
                conn.execute(
                    self.sql.update_password_hash,
                    {"id": user["id"], "password_hash": self.passwords.hash(body["password"])},
                )
            conn.execute(
                self.sql.issue_refresh_token,
                {
                    "user_id": user["id"],
                    "family_id": family,
                    "token_hash": refresh_digest,
                    "days": self.tokens.refresh_days,
                },
            )
        resp.media = self.answer(user, family, refresh)


class Refresh(TokenResponder):
    doc = {
        "post": operation(
            "New access and refresh tokens for a refresh token sent as Bearer",
            access=PUBLIC,
            body=EMPTY.schema,
            body_required=False,
            response=shapes.Tokens,
            errors=(401,),
        )
    }

    def __init__(self, db: Database, sql: Statements, tokens: TokenIssuer, strict: bool):
        super().__init__(db, sql, tokens)
        self.strict = strict

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        presented = bearer_token(req)
        if req.content_length:
            EMPTY.parse(req)
        refresh, refresh_digest = new_refresh_token()
        with self.db.connection() as conn:
            user = conn.execute(
                self.sql.refresh,
                {
                    "token_hash": digest(presented),
                    "new_token_hash": refresh_digest,
                    "strict": self.strict,
                    "days": self.tokens.refresh_days,
                },
            ).fetchone()
        if user is None:
            raise Unauthorized(
                "INVALID_TOKEN", "The refresh token is unknown, expired or revoked; sign in again."
            )
        resp.media = self.answer(user, user["family_id"], refresh)


class Logout:
    doc = {
        "post": operation(
            "End a login: revoke a refresh token's family and its access tokens (without a refresh"
            " token, all of the caller's logins)",
            body=LOGOUT.schema,
            body_required=False,
            response=shapes.Revoked,
        )
    }

    def __init__(self, db: Database, sql: Statements, users: UserCache):
        self.db = db
        self.sql = sql
        self.users = users

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = LOGOUT.parse(req) if req.content_length else {}
        user = req.context.user
        with self.db.connection() as conn:
            if "refresh_token" in body:
                cur = conn.execute(
                    self.sql.revoke_refresh_family,
                    {"token_hash": digest(body["refresh_token"]), "user_id": user.id},
                )
            else:
                cur = conn.execute(
                    self.sql.revoke_user_refresh_tokens, {"user_id": user.id, "keep_family": None}
                )
        self.users.forget(user.id)  # other workers see the ended login within CACHE_SECONDS
        resp.media = {"revoked": cur.rowcount}


class Me:
    doc = {"get": operation("The signed-in user", response=shapes.Me)}

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = req.context.user._asdict()


class ChangePassword:
    doc = {
        "post": operation(
            "Change one's own password; the user's other logins end (refresh and access tokens). Failed"
            " checks of the current password are limited per user and per client IP",
            body=CHANGE_PASSWORD.schema,
            response=shapes.PasswordChanged,
            errors=(429,),
        )
    }

    def __init__(
        self,
        db: Database,
        sql: Statements,
        guesses: PasswordGuessLimit,
        users: UserCache,
        passwords: Passwords,
    ):
        self.passwords = passwords
        self.db = db
        self.sql = sql
        self.guesses = guesses
        self.users = users

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        body = CHANGE_PASSWORD.parse(req)
        problem = password_problem(body["new_password"])
        if problem:
            raise ValidationFailed({"new_password": problem})
        user = req.context.user
        with self.db.connection() as conn:
            row = conn.execute(self.sql.password_hash_of, {"id": user.id}).fetchone()
        stored = row and row["password_hash"]
        if not self.guesses.verify(
            req, user.id, lambda: self.passwords.verify(stored, body["current_password"])
        ):
            raise ValidationFailed({"current_password": "is not the current password"})
        with self.db.connection() as conn:
            conn.execute(
                self.sql.change_password,
                {
                    "id": user.id,
                    "password_hash": self.passwords.hash(body["new_password"]),
                    "keep_family": req.context.token_family,
                },
            )
        self.users.forget(user.id)
        resp.media = {"changed": True}
