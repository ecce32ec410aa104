"""Request-wide concerns: request ids, body-size limit, security headers."""

from __future__ import annotations

import logging
import random
import re
import time

import falcon

from .media import dumps

# A client's X-Request-ID goes into every log line of its request: only 1 to 64 ASCII letters, digits,
# '.', '_' and '-' are kept (fullmatch: '$' would also match before a trailing newline).
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def new_request_id() -> str:
    """32 random hex digits, like a uuid4's, from the worker's own generator (reseeded in every forked
    worker); not a secret, so it need not cost an os.urandom call per request."""
    return f"{random.getrandbits(128):032x}"


class RequestId:
    """Takes a sane X-Request-ID from the client or makes one; echoes it on the response."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-ID")
        req.context.request_id = given if given and _SAFE_ID.fullmatch(given) else new_request_id()

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        resp.set_header("X-Request-ID", req.context.request_id)
        resp.set_headers(SECURITY_HEADERS)


class ServedBy:
    """`X-Served-By`: which database answers, `replica` for a resource reading from DATABASE_READ_URL's
    standby (service/resources/reports.py), `primary` for everything else."""

    def process_resource(self, req: falcon.Request, resp: falcon.Response, resource, params) -> None:
        resp.set_header("X-Served-By", getattr(resource, "served_by", "primary"))


class BodyLimit:
    """Refuses bodies above `max_bytes` before anything reads them (413)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        length = req.content_length
        if length is not None and length > self.max_bytes:
            raise falcon.HTTPContentTooLarge(
                description=f"The request body is {length} bytes; the limit is {self.max_bytes}."
            )
        if length is None and "chunked" in (req.get_header("Transfer-Encoding") or "").lower():
            raise falcon.HTTPLengthRequired(description="Send the body with a Content-Length header.")


def configure_logging(level: str) -> None:
    """Plain lines for the service log; the access log is one JSON object per line."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    access = logging.getLogger("weighin.access")
    if not access.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.propagate = False
    access.setLevel(level)


class AccessLog:
    """One JSON line per request: id, method, route, status, duration, user. Never bodies, headers or
    tokens."""

    def __init__(self):
        self.log = logging.getLogger("weighin.access")

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        req.context.started = time.perf_counter()

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        if not self.log.isEnabledFor(logging.INFO):
            return
        user = getattr(req.context, "user", None)
        self.log.info(
            dumps(
                {
                    "ts": round(time.time(), 3),
                    "request_id": getattr(req.context, "request_id", None),
                    "method": req.method,
                    "route": req.uri_template or req.path,
                    "status": resp.status_code,
                    "duration_ms": round((time.perf_counter() - req.context.started) * 1000, 2),
                    "user_id": user.id if user else None,
                }
            ).decode()
        )
