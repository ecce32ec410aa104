"""Idempotency-Key on POST and PATCH (SPEC §5 "Retries").

The key is claimed by an insert in the same transaction as the work (the request runs in a pinned
transaction that every database call of the responder joins), and the answer — status and body — is
kept in that transaction too: after a crash there is neither a claim without its work nor work
without its kept answer. A repeat with the same fingerprint (method, path, canonical body, user) gets
the kept answer with `Idempotent-Replayed: true`; another request under the same key gets 422; a repeat
while the first is still running gets 409.
"""

from __future__ import annotations

import functools
import hashlib

import falcon
import msgspec
import psycopg
from psycopg import IsolationLevel

from .db import RETRYABLE, Database, Statements
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


def read_committed(responder):
    """Marks a responder whose keyed run may use READ COMMITTED (it serialises through row locks)."""
    responder.isolation = None
    return responder


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


class Idempotency:
    def __init__(self, db: Database, sql: Statements):
        self.db = db
        self.sql = sql

    def wrap(self, responder):
        """The responder, made to honour an Idempotency-Key header when one is sent."""
        isolation = getattr(responder, "isolation", IsolationLevel.SERIALIZABLE)

        @functools.wraps(responder)
        def keyed(req: falcon.Request, resp: falcon.Response, **params):
            key = req.get_header(HEADER)
            if key is None:
                return responder(req, resp, **params)
            if not (1 <= len(key) <= 255 and key.isprintable()):
                raise ValidationFailed({HEADER: "must be 1 to 255 printable characters"})
            claim = {
                "user_id": req.context.user.id,
                "key": key,
                "fingerprint": fingerprint(req, req.context.user.id),
            }
            error = self.db.pinned(
                lambda conn: self._attempt(conn, claim, responder, req, resp, params),
                isolation=isolation,
                retry_on=KEYED_RETRY,
            )
            if error is not None:  # its answer is kept and committed; now the error handler renders it
                raise error

        return keyed

    def _attempt(self, conn, claim: dict, responder, req, resp, params) -> AppError | None:
        """One try inside the pinned transaction; returns the AppError the responder raised, if any."""
        found = conn.execute(self.sql.claim_idempotency_key, claim).fetchone()
        if found["state"] == "busy":
            raise Conflict(
                "IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still being processed."
            )
        if found["state"] == "raced":
            raise _Raced()
        if found["state"] == "replay":
            if bytes(found["fingerprint"]) != claim["fingerprint"]:
                raise IdempotencyKeyReused("This Idempotency-Key was used for a different request.")
            resp.status = found["status"]
            resp.content_type = falcon.MEDIA_JSON
            resp.data = bytes(found["body"])
            resp.set_header("Idempotent-Replayed", "true")
            return None
        try:
            responder(req, resp, **params)
        except AppError as error:
            body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
            conn.execute(
                self.sql.keep_idempotent_answer, {**claim, "status": error.status, "body": dumps(body)}
            )
            return error  # returning (not raising) commits the claim with the kept error
        body = dumps(resp.media) if resp.media is not None else b""
        conn.execute(self.sql.keep_idempotent_answer, {**claim, "status": resp.status_code, "body": body})
        return None
