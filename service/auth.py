"""Who may call what: the access rules, the bearer-token middleware and the per-worker user cache."""

from __future__ import annotations

import time
from typing import NamedTuple

import falcon

from .db import Database, Statements
from .errors import Forbidden, Unauthorized
from .tokens import TokenIssuer

PUBLIC, ANY, ADMIN = "PUBLIC", "ANY", "ADMIN"
CACHE_SECONDS = 4.0  # role and is_active changes bite within 5 s on every worker


class User(NamedTuple):
    id: int
    username: str
    role: str
    is_active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class UserCache:
    """Role and is_active per user id, read from the database at most every CACHE_SECONDS."""

    def __init__(self, db: Database, sql: Statements):
        self.db = db
        self.sql = sql
        self._entries: dict[int, tuple[float, User | None]] = {}

    def get(self, user_id: int) -> User | None:
        now = time.monotonic()
        entry = self._entries.get(user_id)
        if entry and entry[0] > now:
            return entry[1]
        with self.db.connection() as conn:
            row = conn.execute(self.sql.user_access, {"id": user_id}).fetchone()
        user = User(**row) if row else None
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[user_id] = (now + CACHE_SECONDS, user)
        return user

    def forget(self, user_id: int) -> None:
        self._entries.pop(user_id, None)


def bearer_token(req: falcon.Request) -> str:
    header = req.get_header("Authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("MISSING_TOKEN", "Send an access token as 'Authorization: Bearer <token>'.")
    return token.strip()


class AuthMiddleware:
    """Every /api route needs a valid access token unless its rule is PUBLIC; ADMIN routes need the
    ADMIN role as the database has it now (cached ≤ 5 s), not as the token says."""

    def __init__(self, rules: dict[tuple[str, str], str], tokens: TokenIssuer, users: UserCache):
        self.rules = rules
        self.tokens = tokens
        self.users = users

    def process_resource(self, req: falcon.Request, resp, resource, params) -> None:
        rule = self.rules.get((req.uri_template, req.method))
        if rule is None or rule == PUBLIC:
            return
        claims = self.tokens.decode_access(bearer_token(req))
        user = self.users.get(int(claims["sub"]))
        if user is None or not user.is_active:
            raise Unauthorized("INVALID_TOKEN", "The account behind this token is disabled or gone.")
        if rule == ADMIN and not user.is_admin:
            raise Forbidden("This action needs the ADMIN role.", details={"required_role": ADMIN})
        req.context.user = user
        req.context.token_family = claims.get("fam")
