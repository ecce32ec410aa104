"""Idempotency-Key on POST and PATCH (SPEC §5 "Retries"): each write responder says how it takes one.

    @keyed()                 # SERIALIZABLE when a key is sent
    @keyed(READ_COMMITTED)   # the work serialises through row locks
    @not_keyed("why")        # a repeat is harmless; the key is accepted and ignored

A decorated responder is called as `responder(self, req, resp, db, **params)`. Without a key `db` is the
resource's `Database`, and each call is its own transaction. With a key `db` is a `Unit`: one
transaction that claims the key, runs the work and keeps the answer (status and body), retried as a
whole. After a crash there is neither a claim without its work nor work without its kept answer. A
repeat with the same fingerprint (method, path, query, canonical body, user) gets the kept answer with
`Idempotent-Replayed: true`; another request under the same key gets 422; a repeat while the first is
still running gets 409.
"""

from __future__ import annotations

import functools
import hashlib

import falcon
import msgspec
import psycopg

from .db import RETRYABLE, SERIALIZABLE, Unit
from .errors import AppError, Conflict, ValidationFailed
from .media import dumps

HEADER = "Idempotency-Key"
TTL_HOURS = 24


class IdempotencyKeyReused(AppError):
    status, code = 422, "IDEMPOTENCY_KEY_REUSED"


class _Raced(Exception):
    """The key was committed by another request after this one's snapshot: run again to replay it."""


# A unique violation inside a keyed run means a concurrent twin committed first; a re-run sees it.
KEYED_RETRY = (*RETRYABLE, psycopg.errors.UniqueViolation, _Raced)


def keyed(isolation=SERIALIZABLE):
    """The responder honours an Idempotency-Key: sent with one, its work runs in one unit at `isolation`."""

    def decorate(responder):
        @functools.wraps(responder)
        def run(resource, req: falcon.Request, resp: falcon.Response, **params):
            key = req.get_header(HEADER)
            if key is None:
                return responder(resource, req, resp, resource.db, **params)
            if not (1 <= len(key) <= 255 and key.isprintable()):
                raise ValidationFailed({HEADER: "must be 1 to 255 printable characters"})
            user_id = req.context.user.id
            claim = {"user_id": user_id, "key": key, "fingerprint": fingerprint(req, user_id)}

            def attempt(unit: Unit) -> AppError | None:
                if replayed(unit, claim, resp):
                    return None
                try:
                    responder(resource, req, resp, unit, **params)
                except AppError as error:  # kept and committed; then the error handler renders it
                    envelope = {
                        "error": {"code": error.code, "message": error.message, "details": error.details}
                    }
                    keep(unit, claim, error.status, dumps(envelope))
                    return error
                keep(unit, claim, resp.status_code, dumps(resp.media) if resp.media is not None else b"")
                return None

            error = resource.db.unit_of_work(attempt, isolation=isolation, retry_on=KEYED_RETRY)
            if error is not None:
                raise error

        run.keyed = True
        return run

    return decorate


def not_keyed(reason: str):
    """The responder ignores an Idempotency-Key: `reason` says why a repeat is harmless."""

    def decorate(responder):
        @functools.wraps(responder)
        def run(resource, req: falcon.Request, resp: falcon.Response, **params):
            return responder(resource, req, resp, resource.db, **params)

        run.keyed = False
        run.not_keyed_because = reason
        return run

    return decorate


def fingerprint(req: falcon.Request, user_id: int) -> bytes:
    body = req.get_media(default_when_empty=None)
    canonical = msgspec.json.encode(body, order="sorted")
    parts = [
        req.method.encode(),
        req.path.encode(),
        req.query_string.encode(),
        canonical,
        str(user_id).encode(),
    ]
    return hashlib.sha256(b"\0".join(parts)).digest()


def replayed(unit: Unit, claim: dict, resp: falcon.Response) -> bool:
    """Claims the key; True when a kept answer was put in `resp` instead."""
    found = unit.query("claim_idempotency_key", claim)
    if found["state"] == "busy":
        raise Conflict(
            "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed."
        )
    if found["state"] == "raced":
        raise _Raced()
    if found["state"] != "replay":
        return False
    if bytes(found["fingerprint"]) != claim["fingerprint"]:
        raise IdempotencyKeyReused("This Idempotency-Key was used for a different request.")
    resp.status = found["status"]
    resp.content_type = falcon.MEDIA_JSON
    resp.data = bytes(found["body"])
    resp.set_header("Idempotent-Replayed", "true")
    return True


def keep(unit: Unit, claim: dict, status: int, body: bytes) -> None:
    unit.query("keep_idempotent_answer", {**claim, "status": status, "body": body})
