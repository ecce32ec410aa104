"""JSON answers written by msgspec (dicts, lists and msgspec Structs alike; Decimals leave as JSON numbers
without passing through a float, UTC timestamps end in `Z`), and request bodies read by msgspec too."""

from __future__ import annotations

from typing import Any

import falcon
import msgspec
from falcon import media

from .errors import ValidationFailed

_encoder = msgspec.json.Encoder(decimal_format="number")


def dumps(value: Any) -> bytes:
    return _encoder.encode(value)


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
            return msgspec.json.decode(data)
        except RecursionError:  # msgspec's depth limit
            raise ValidationFailed({"body": "is nested too deeply"}) from None
        except msgspec.DecodeError as error:
            raise falcon.MediaMalformedError("JSON") from error


def handlers() -> media.Handlers:
    json = JSONHandler()
    return media.Handlers({falcon.MEDIA_JSON: json, "application/json; charset=UTF-8": json})
