"""JSON in and out with orjson; Decimals leave as JSON numbers without passing through a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import falcon
import orjson
from falcon import media

from .errors import ValidationFailed


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default)


class JSONHandler(media.BaseHandler):
    exhaust_stream = True

    def serialize(self, media_obj: Any, content_type: str | None) -> bytes:
        return dumps(media_obj)

    def deserialize(self, stream, content_type: str | None, content_length: int | None) -> Any:
        data = stream.read()
        if not data:
            raise falcon.MediaNotFoundError("JSON")
        if b"\\u0000" in data:  # PostgreSQL text cannot hold NUL; refuse it before anything parses it
            raise ValidationFailed({"body": "strings must not contain NUL (\\u0000) characters"})
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise falcon.MediaMalformedError("JSON") from error


def handlers() -> media.Handlers:
    json = JSONHandler()
    return media.Handlers({falcon.MEDIA_JSON: json, "application/json; charset=UTF-8": json})
