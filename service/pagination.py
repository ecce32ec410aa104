"""Keyset pagination: `limit` (default 50, max 500) and an opaque cursor naming the last row seen.

The statements compare the key with `coalesce(%(after_id)s, <end of the key's range>)` rather than
`%(after_id)s IS NULL OR id < %(after_id)s`: in a generic (prepared) plan the first is an index
condition, the second a filter, so a deep page would scan from the top, and the plan's estimate rises
enough that PostgreSQL re-plans the statement on every call instead (docs/performance.md)."""

from __future__ import annotations

import base64
import binascii
from datetime import date

import falcon
import msgspec

from .errors import ValidationFailed
from .openapi import query
from .validation import is_id, query_int, query_param

DEFAULT_LIMIT, MAX_LIMIT = 50, 500
# The longest cursor this API issues (an inventory key with a 50-character article_no of 4-byte UTF-8
# characters) is under 400 characters; a longer one is refused before it is decoded.
MAX_CURSOR_CHARS = 1024
# the parameters every paged list takes, for /openapi.json
LIST_PARAMS = [
    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    query("cursor", {"type": "string"}),
]


def encode(values: list) -> str:
    return base64.urlsafe_b64encode(msgspec.json.encode(values)).decode().rstrip("=")


def decode(cursor: str) -> list:
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValidationFailed({"cursor": "is not a cursor this API issued"})
    try:
        values = msgspec.json.decode(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, msgspec.DecodeError):
        values = None
    if not isinstance(values, list) or not values:
        raise ValidationFailed({"cursor": "is not a cursor this API issued"})
    return values


# a cursor value's kind: an expiry date in ISO form, or 'infinity' for a batch without one (sorts last)
EXPIRY = "expiry"


def _is_expiry(value) -> bool:
    try:
        return isinstance(value, str) and (value == "infinity" or bool(date.fromisoformat(value)))
    except ValueError:
        return False


def _fits(value, kind: type | tuple[type, ...] | str) -> bool:
    if kind == EXPIRY:
        return _is_expiry(value)
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    return is_id(value) if isinstance(value, int) else True


class Page:
    """The page a request asks for: `limit` and the keyset position after the cursor (or None)."""

    def __init__(self, req: falcon.Request):
        self.limit = query_int(req, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        raw = query_param(req, "cursor")
        self.after = decode(raw) if raw else None  # an empty cursor (the schema allows it): the first page

    def after_id(self) -> int | None:
        if self.after is None:
            return None
        value = self.after[0]
        if not is_id(value):
            raise ValidationFailed({"cursor": "is not a cursor this API issued"})
        return value

    def after_values(self, *kinds: type | tuple[type, ...] | str) -> list | None:
        """A composite keyset position, each value checked against its kind; None without a cursor."""
        if self.after is None:
            return None
        values = self.after
        if len(values) != len(kinds) or not all(map(_fits, values, kinds)):
            raise ValidationFailed({"cursor": "is not a cursor this API issued"})
        return values

    def params(self) -> dict:
        """SQL parameters: fetch one more row than asked to know whether another page follows."""
        return {"limit": self.limit + 1, "after_id": self.after_id()}

    def answer(self, rows: list[dict], total: int | None = None, key=lambda row: [row["id"]]) -> dict:
        more = len(rows) > self.limit
        items = rows[: self.limit]
        body = {"items": items, "next_cursor": encode(key(items[-1])) if more and items else None}
        if total is not None:
            body["total"] = total
        return body
