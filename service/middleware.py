"""Request-wide concerns: request ids, body-size limit, security headers."""

from __future__ import annotations

import re
import uuid

import falcon

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


class RequestId:
    """Takes a sane X-Request-ID from the client or makes one; echoes it on the response."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        given = req.get_header("X-Request-ID")
        req.context.request_id = given if given and _SAFE_ID.match(given) else uuid.uuid4().hex

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        resp.set_header("X-Request-ID", req.context.request_id)
        resp.set_headers(SECURITY_HEADERS)


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
