"""Access tokens (short-lived signed JWTs) and refresh tokens (opaque, stored as SHA-256 digests)."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

import jwt

from .errors import Unauthorized

ALGORITHM = "HS256"
VERIFIED_CACHE_SIZE = 10_000


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
        if claims.get("typ") != "access" or not str(claims["sub"]).isdigit():
            raise Unauthorized("INVALID_TOKEN", "The access token is not valid.")
        return claims


def new_refresh_token() -> tuple[str, bytes]:
    """(token for the client, digest for the database)."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_family() -> str:
    return str(uuid.uuid4())
