"""Who may call what: the access rules, the bearer-token middleware and the per-worker user cache."""

from __future__ import annotations

import time
from typing import NamedTuple

import falcon

from .db import Database
from .errors import Forbidden, Unauthorized
from .tokens import TokenIssuer

PUBLIC, ANY, ADMIN = "PUBLIC", "ANY", "ADMIN"
CACHE_SECONDS = 4.0  # role, is_active and ended logins bite within 5 s on every worker
# an access token's clock (the app's) and revoked_at (the database's) may disagree by this much
CLOCK_MARGIN_SECONDS = 60


class User(NamedTuple):
    id: int
    username: str
    role: str
    is_active: bool

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


class Access(NamedTuple):
    """What the database says about a token's user: the user, and the logins (refresh-token families)
    that ended recently enough for their access tokens to be unexpired still."""

    user: User
    ended_logins: frozenset[str]


class UserCache:
    """Per user id: role, is_active and ended logins, read in one statement at most every CACHE_SECONDS."""

    clock = staticmethod(time.monotonic)

    def __init__(self, db: Database, access_token_seconds: int):
        self.db = db
        # a login's access tokens were all issued before it ended, so they are expired this long after
        self.ended_within = access_token_seconds + CLOCK_MARGIN_SECONDS
        self._entries: dict[int, tuple[float, Access | None]] = {}

    def get(self, user_id: int) -> Access | None:
        now = self.clock()
        entry = self._entries.get(user_id)
        if entry and entry[0] > now:
            return entry[1]
        row = self.db.query("user_access", {"id": user_id, "ended_within": self.ended_within})
        access = None
        if row:
            ended = frozenset(row.pop("ended_logins"))
            access = Access(User(**row), ended)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[user_id] = (now + CACHE_SECONDS, access)
        return access

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
    ADMIN role as the database has it now (cached ≤ 5 s), not as the token says. A token whose login
    has ended (logout, a password change elsewhere, a reset) is refused within the same 5 s."""

    def __init__(self, rules: dict[tuple[str, str], str], tokens: TokenIssuer, users: UserCache):
        self.rules = rules
        self.tokens = tokens
        self.users = users

    def process_resource(self, req: falcon.Request, resp, resource, params) -> None:
        rule = self.rules.get((req.uri_template, req.method))
        if rule is None or rule == PUBLIC:
            return
        claims = self.tokens.decode_access(bearer_token(req))
        access = self.users.get(int(claims["sub"]))
        if access is None or not access.user.is_active:
            raise Unauthorized("INVALID_TOKEN", "The account behind this token is disabled or gone.")
        family = claims.get("fam")
        if not isinstance(family, str) or family in access.ended_logins:
            raise Unauthorized("INVALID_TOKEN", "This sign-in has ended (signed out or password changed).")
        user = access.user
        if rule == ADMIN and not user.is_admin:
            raise Forbidden("This action needs the ADMIN role.", details={"required_role": ADMIN})
        req.context.user = user
        req.context.token_family = family
