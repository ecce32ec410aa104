"""Rate limiting with `limits`: a storage backend on the service's own PostgreSQL (so every worker and
instance shares one counter), the client-IP rule, the login limit and the failed-password limit."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable

import falcon
import psycopg
from limits import RateLimitItem, RateLimitItemPerMinute, storage
from limits.strategies import FixedWindowRateLimiter

from .db import Database
from .errors import AppError


class PostgresStorage(storage.Storage):
    """`limits` storage on the UNLOGGED table rate_limit_counters; one statement per operation."""

    STORAGE_SCHEME = ["weighin+postgresql"]

    def __init__(
        self,
        uri: str | None = None,
        wrap_exceptions: bool = False,
        *,
        db: Database,
        **options,
    ):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.db = db

    @property
    def base_exceptions(self):
        return psycopg.Error

    def _one(self, statement: str, **params):
        row = self.db.query(statement, params)
        return next(iter(row.values())) if row else None

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._one("rate_limit_incr", key=key, expiry=expiry, amount=amount)

    def get(self, key: str) -> int:
        return self._one("rate_limit_get", key=key)

    def get_expiry(self, key: str) -> float:
        return self._one("rate_limit_expiry", key=key)

    def check(self) -> bool:
        try:
            self._one("ping")
            return True
        except psycopg.Error:
            return False

    def reset(self) -> int | None:
        return self._one("rate_limit_reset")

    def clear(self, key: str) -> None:
        self._one("rate_limit_clear", key=key)


def make_storage(uri: str, db: Database) -> storage.Storage:
    if not uri:
        return PostgresStorage("weighin+postgresql://", db=db)
    return storage.storage_from_string(uri)


class TooManyRequests(AppError):
    status, code = 429, "RATE_LIMIT_EXCEEDED"

    def __init__(self, retry_after: int):
        super().__init__(
            f"Too many attempts; retry in {retry_after} seconds.",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


def within(address: str, networks) -> bool:
    """Whether `address` (an IPv4-mapped IPv6 address as its IPv4 one) lies in one of `networks`."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if getattr(ip, "ipv4_mapped", None):  # ::ffff:127.0.0.1 on a dual-stack socket
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)


class ClientAddress:
    """The socket peer, unless the peer is a trusted proxy: then X-Forwarded-For, read from the right,
    up to the first address that is not itself a trusted proxy."""

    def __init__(self, trusted_proxies):
        self.trusted = tuple(trusted_proxies)

    def _is_trusted(self, address: str) -> bool:
        return within(address, self.trusted)

    def of(self, req: falcon.Request) -> str:
        peer = req.remote_addr or "unknown"
        if not self.trusted or not self._is_trusted(peer):
            return peer
        forwarded = [a.strip() for a in (req.get_header("X-Forwarded-For") or "").split(",") if a.strip()]
        for address in reversed(forwarded):
            if not self._is_trusted(address):
                return address
        return forwarded[0] if forwarded else peer


class LoginLimit:
    """Login attempts per client IP and minute (6 by default), successful or not; 0 lifts the limit."""

    def __init__(self, store: storage.Storage, addresses: ClientAddress, per_minute: int = 6):
        self.limiter = FixedWindowRateLimiter(store)
        self.addresses = addresses
        self.item = RateLimitItemPerMinute(per_minute) if per_minute else None

    def hit(self, req: falcon.Request) -> None:
        if self.item is None:
            return
        ip = self.addresses.of(req)
        if not self.limiter.hit(self.item, "login", ip):
            reset_at = self.limiter.get_window_stats(self.item, "login", ip).reset_time
            raise TooManyRequests(max(1, math.ceil(reset_at - time.time())))


FAILED_PASSWORDS_PER_USER = RateLimitItemPerMinute(6, 15)
FAILED_PASSWORDS_PER_IP = RateLimitItemPerMinute(6)


class PasswordGuessLimit:
    """Failed password checks on every route that checks a password, except login (which has its own
    limit): per user (6 in 15 minutes by default) and per client IP (6 a minute), in the same shared
    storage as login's. Once either count is full, the next attempt is refused before any hash is
    verified. Attempts already under way when the count fills are still answered, so the bound is
    the limit plus the requests in flight (at most one per worker thread)."""

    def __init__(
        self,
        store: storage.Storage,
        addresses: ClientAddress,
        per_user: RateLimitItem = FAILED_PASSWORDS_PER_USER,
        per_ip: RateLimitItem = FAILED_PASSWORDS_PER_IP,
    ):
        self.limiter = FixedWindowRateLimiter(store)
        self.addresses = addresses
        self.per_user = per_user
        self.per_ip = per_ip

    def verify(self, req: falcon.Request, user_id: int, check: Callable[[], bool]) -> bool:
        """`check()` (a password verification) unless the user or the client has used up its failed
        attempts (then 429); a False answer is counted against both."""
        counts = [
            (self.per_user, ("password", "user", str(user_id))),
            (self.per_ip, ("password", "ip", self.addresses.of(req))),
        ]
        full = [(item, key) for item, key in counts if not self.limiter.test(item, *key)]
        if full:
            raise TooManyRequests(max(self._seconds_left(item, key) for item, key in full))
        if check():
            return True
        for item, key in counts:
            self.limiter.hit(item, *key)
        return False

    def _seconds_left(self, item: RateLimitItem, key: tuple[str, ...]) -> int:
        reset_at = self.limiter.get_window_stats(item, *key).reset_time
        return max(1, math.ceil(reset_at - time.time()))
