"""Access tokens (short-lived signed JWTs) and refresh tokens (opaque, stored as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
import uuid

import jwt

from .errors import Unauthorized

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 10_000
# The access tokens this service signs are a few hundred characters; anything far longer is refused
# before it is parsed (gunicorn lets headers up to 128 KiB through, see gunicorn.conf.py).
MAX_TOKEN_CHARS = 4096
# A user id as the service writes it into `sub`: ASCII digits of a bigint
# (int() also reads other scripts' digits).
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")


class TokenIssuer:
    def __init__(self, secret: str, access_minutes: int, refresh_days: int):
        self.secret = secret
        self.access_seconds = access_minutes * 60
        self.refresh_days = refresh_days
        # access tokens whose signature and claims were checked, by their exact text: a client sends the
        # same token for many requests, and only its expiry needs checking again
        self._verified: dict[str, dict] = {}

    def access_token(self, user_id: int, role: str, family: str, lifetime: int | None = None) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "role": role,
            "fam": family,
            "typ": "access",
            "iat": now,
            "exp": now + (self.access_seconds if lifetime is None else lifetime),
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def decode_access(self, token: str) -> dict:
        if len(token) > MAX_TOKEN_CHARS:
            raise Unauthorized("INVALID_TOKEN", "The access token is not valid.")
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.clear()
            self._verified[token] = claims
        elif claims["exp"] <= time.time():  # as jwt.decode judges expiry (no leeway)
            raise Unauthorized("TOKEN_EXPIRED", "The access token has expired; refresh it.")
        return claims

    def _verify(self, token: str) -> dict:
        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("TOKEN_EXPIRED", "The access token has expired; refresh it.") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("INVALID_TOKEN", "The access token is not valid.") from None
        if not _well_formed(claims):
            raise Unauthorized("INVALID_TOKEN", "The access token is not valid.")
        return claims


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _well_formed(claims: dict) -> bool:
    """The claims' types, strictly: PyJWT reads `exp` and `iat` through int(), so it lets the string
    "1700000000" pass, which the verified-token cache then cannot compare with a time."""
    return (
        claims.get("typ") == "access"
        and _is_number(claims["exp"])
        and ("iat" not in claims or _is_number(claims["iat"]))
        and isinstance(claims["sub"], str)
        and _USER_ID.fullmatch(claims["sub"]) is not None
        and int(claims["sub"]) < 2**63
        and isinstance(claims.get("fam", ""), str)
    )


def new_refresh_token() -> tuple[str, bytes]:
    """(token for the client, digest for the database)."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_family() -> str:
    return str(uuid.uuid4())
