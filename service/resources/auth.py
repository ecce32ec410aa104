"""Sign-in and tokens: login, refresh, logout, me, change-password."""

from __future__ import annotations

import falcon

from .. import shapes, usernames
from ..auth import PUBLIC, UserCache, bearer_token
from ..db import Database
from ..errors import Unauthorized, ValidationFailed
from ..idempotency import keyed, not_keyed
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

    def __init__(self, db: Database, tokens: TokenIssuer):
        self.db = db
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

    def __init__(self, db: Database, tokens: TokenIssuer, limit: LoginLimit, passwords: Passwords):
        super().__init__(db, tokens)
        self.limit = limit
        self.passwords = passwords

    @not_keyed("a repeat signs in again; tokens are not kept")
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        self.limit.hit(req)
        body = LOGIN.parse(req)
        user = db.query("user_for_login", {"username_key": usernames.key(body["username"])})
        # verify spends a full hash even for an unknown user
        if (
            not self.passwords.verify(user and user["password_hash"], body["password"])
            or not user["is_active"]
        ):
            raise Unauthorized(*BAD_CREDENTIALS)
        family = new_family()
        refresh, refresh_digest = new_refresh_token()
        issue = {
            "user_id": user["id"],
            "family_id": family,
            "token_hash": refresh_digest,
            "days": self.tokens.refresh_days,
        }
        steps = [("issue_refresh_token", issue)]
        if self.passwords.needs_rehash(user["password_hash"]):
            rehashed = {"id": user["id"], "password_hash": self.passwords.hash(body["password"])}
            steps.insert(0, ("update_password_hash", rehashed))
        db.transaction(*steps)
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

    def __init__(self, db: Database, tokens: TokenIssuer, strict: bool):
        super().__init__(db, tokens)
        self.strict = strict

    @not_keyed("the refresh token itself is the key: a repeat is refused once it has rotated")
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        presented = bearer_token(req)
        if req.content_length:
            EMPTY.parse(req)
        refresh, refresh_digest = new_refresh_token()
        user = db.query(
            "refresh",
            {
                "token_hash": digest(presented),
                "new_token_hash": refresh_digest,
                "strict": self.strict,
                "days": self.tokens.refresh_days,
            },
        )
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

    def __init__(self, db: Database, users: UserCache):
        self.db = db
        self.users = users

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = LOGOUT.parse(req) if req.content_length else {}
        user = req.context.user
        if "refresh_token" in body:
            family = {"token_hash": digest(body["refresh_token"]), "user_id": user.id}
            revoked = db.query("revoke_refresh_family", family)
        else:
            revoked = db.query("revoke_user_refresh_tokens", {"user_id": user.id, "keep_family": None})
        self.users.forget(user.id)  # other workers see the ended login within CACHE_SECONDS
        resp.media = {"revoked": revoked["revoked"]}


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
        guesses: PasswordGuessLimit,
        users: UserCache,
        passwords: Passwords,
    ):
        self.passwords = passwords
        self.db = db
        self.guesses = guesses
        self.users = users

    @keyed()
    def on_post(self, req: falcon.Request, resp: falcon.Response, db: Database) -> None:
        body = CHANGE_PASSWORD.parse(req)
        problem = password_problem(body["new_password"])
        if problem:
            raise ValidationFailed({"new_password": problem})
        user = req.context.user
        row = db.query("password_hash_of", {"id": user.id})
        stored = row and row["password_hash"]
        if not self.guesses.verify(
            req, user.id, lambda: self.passwords.verify(stored, body["current_password"])
        ):
            raise ValidationFailed({"current_password": "is not the current password"})
        db.query(
            "change_password",
            {
                "id": user.id,
                "password_hash": self.passwords.hash(body["new_password"]),
                "keep_family": req.context.token_family,
            },
        )
        self.users.forget(user.id)
        resp.media = {"changed": True}
