"""Password hashing with argon2id: one `Passwords` per app, built with the parameters its environment
calls for (argon2-cffi's RFC 9106 low-memory profile everywhere but ENV=test)."""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH, MAX_LENGTH = 8, 256


class Passwords:
    """Hashes, checks and upgrades passwords with one argon2id parameter set, one hash at a time: each
    takes 64 MiB (RFC 9106's low-memory profile), so a worker's threads hashing at once would each add
    that to its RSS (2 threads: 186 MB in `make bench`'s login runs; one at a time keeps it near 120)."""

    def __init__(self, hasher: PasswordHasher):
        self.hasher = hasher
        self._one_at_a_time = threading.Lock()
        # checked against when the user does not exist, so that path spends the same work as a real one
        self.dummy_hash = hasher.hash("not a real password, only spends time")

    @classmethod
    def for_environment(cls, env: str) -> Passwords:
        """Production parameters, except under ENV=test: the same algorithm with the least work argon2
        allows, so a test suite that signs in thousands of times does not spend minutes hashing."""
        if env == "test":
            return cls(PasswordHasher(time_cost=1, memory_cost=16, parallelism=1))
        return cls(PasswordHasher())

    def hash(self, password: str) -> str:
        with self._one_at_a_time:
            return self.hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            with self._one_at_a_time:
                verified = self.hasher.verify(stored_hash or self.dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return verified and stored_hash is not None

    def needs_rehash(self, stored_hash: str) -> bool:
        return self.hasher.check_needs_rehash(stored_hash)


def password_problem(password: object) -> str | None:
    """Why a new password is unacceptable, or None."""
    if not isinstance(password, str):
        return "must be a string"
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        return f"must be {MIN_LENGTH} to {MAX_LENGTH} characters"
    return None
