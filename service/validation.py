"""Request bodies and query strings checked against JSON Schemas (the same ones /openapi.json
publishes); every problem is reported at once, keyed by its path (`lines[3].quantity_kg`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import falcon
import jsonschema_rs

from .errors import ValidationFailed

CENT = Decimal("0.01")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACED_OFFSET = re.compile(r"(T[0-9:.]+) ([0-9]{2}(?::?[0-9]{2})?)$")


def path_of(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


_MESSAGES = {  # jsonschema_rs error kind -> what is wrong, in words
    "Type": lambda kind: "must be of type " + " or ".join(sorted(kind.types)),
    "Enum": lambda kind: "must be one of " + ", ".join(map(str, kind.options)),
    "MinLength": lambda kind: f"must have at least {kind.limit} characters",
    "MaxLength": lambda kind: f"must have at most {kind.limit} characters",
    "MinItems": lambda kind: f"must have at least {kind.limit} items",
    "MaxItems": lambda kind: f"must have at most {kind.limit} items",
    "MinProperties": lambda kind: f"must have at least {kind.limit} fields",
    "Minimum": lambda kind: f"must be at least {kind.limit}",
    "Maximum": lambda kind: f"must be at most {kind.limit}",
    "Pattern": lambda kind: "has an invalid format",
    "Format": lambda kind: f"must be a valid {kind.format}",
}


def _describe(error) -> list[tuple[str, str]]:
    """(path, problem) pairs for one jsonschema_rs error."""
    base = list(error.instance_path)
    kind = error.kind
    name = type(kind).__name__
    if name == "Required":
        return [(path_of([*base, kind.property]), "is required")]
    if name == "AdditionalProperties":
        return [(path_of([*base, field]), "is not an allowed field") for field in kind.unexpected]
    describe = _MESSAGES.get(name)
    return [(path_of(base), describe(kind) if describe else "is invalid")]


def _floats_in_integer_slots(schema: dict[str, Any], value: Any, path: tuple = ()) -> list[tuple]:
    """Paths where a float sits where the schema asks for an integer: JSON Schema counts 907.0 as an
    integer, but ids and counts must be JSON integers proper."""
    if isinstance(value, float):
        kinds = [schema.get("type")] + [option.get("type") for option in schema.get("anyOf", ())]
        wanted = any(kind == "integer" or (isinstance(kind, list) and "integer" in kind) for kind in kinds)
        return [path] if wanted else []
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return [
            p
            for k, v in value.items()
            for p in _floats_in_integer_slots(properties.get(k, {}), v, (*path, k))
        ]
    if isinstance(value, list):
        items = schema.get("items", {})
        return [
            found
            for n, item in enumerate(value)
            for found in _floats_in_integer_slots(items, item, (*path, n))
        ]
    return []


class Schema:
    """A compiled JSON Schema (jsonschema_rs) for one request body: a valid body is answered in about a
    microsecond; only an invalid one pays for collecting every problem."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._validator = jsonschema_rs.validator_for(schema, validate_formats=True)

    def problems(self, instance: Any) -> dict[str, str]:
        floats = _floats_in_integer_slots(self.schema, instance)
        if not floats and self._validator.is_valid(instance):
            return {}
        found = {path_of(path): "must be of type integer" for path in floats}
        for error in self._validator.iter_errors(instance):
            for path, message in _describe(error):
                found.setdefault(path, message)
        return found

    def parse(self, req: falcon.Request) -> dict[str, Any]:
        body = req.get_media()
        problems = self.problems(body)
        if problems:
            raise ValidationFailed(problems)
        return body


def obj(properties: dict[str, Any], required: Iterable[str] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def text(max_length: int, min_length: int = 1, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length, **extra}


ID = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
QUANTITY = {"type": ["number", "string"], "description": "kg; rounded half-up to 0.01"}


# A quantity written as a string: an optional '-', ASCII digits, an optional '.' and fraction digits.
# Python's Decimal grammar is wider ('1_0', '+1', '1e2', 'NaN', ' 1'); SPEC §7 refuses all of those.
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_MAX_QUANTITY_CHARS = 40


def quantity(value: Any, path: str, low: Decimal, high: Decimal, problems: dict[str, str]) -> Decimal | None:
    """A quantity from a JSON number or string, rounded half-up to 0.01 and range-checked.

    A string must be a plain decimal (`-?digits[.digits]`, surrounding ASCII whitespace allowed, at most
    40 characters): no '+', no '_', no exponent, no NaN or Infinity. A JSON number is taken as the number
    it is, whatever its spelling: `1e2` in JSON arrives as the float 100.0 and means 100, like `100`;
    non-finite floats (which JSON cannot carry, but a caller could pass) are refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems[path] = "must be a number"
        return None
    if isinstance(value, str):
        text = value.strip(" \t\r\n")
        if len(text) > _MAX_QUANTITY_CHARS or not _PLAIN_DECIMAL.fullmatch(text):
            problems[path] = "must be a decimal number like 12.5 (digits, an optional '-' and fraction)"
            return None
        number = Decimal(text)
    elif isinstance(value, float):
        if not math.isfinite(value):
            problems[path] = "must be a finite number"
            return None
        number = Decimal(str(value))  # the shortest repr: 2.675 stays 2.675, not 2.67499999...
    else:
        number = Decimal(value)
    if abs(number) > Decimal("1e12"):
        problems[path] = f"must be between {low} and {high}"
        return None
    rounded = number.quantize(CENT, rounding=ROUND_HALF_UP)
    if not low <= rounded <= high:
        problems[path] = f"must be between {low} and {high} after rounding to 0.01"
        return None
    return rounded + 0  # normalises -0.00


def query_param(req: falcon.Request, name: str) -> str | None:
    """The one place a query parameter is read: its value, or None when it is absent. A parameter given
    more than once is refused, whichever copy would otherwise win (falcon's `get_param` takes the last)."""
    raw = req.params.get(name)
    if isinstance(raw, list):
        raise ValidationFailed({name: "must be given at most once"})
    return raw


def _typed_param(req: falcon.Request, name: str) -> str | None:
    """A parameter of a typed helper below: absent is None, and an empty value is refused (the published
    schemas forbid it; a client that means 'no filter' leaves the parameter out)."""
    raw = query_param(req, name)
    if raw == "":
        raise ValidationFailed({name: "must not be empty; leave the parameter out instead"})
    return raw


# ASCII digits only (str.isdigit() and int() also take Arabic-Indic or full-width digits);
# 19 digits hold every bigint.
_WHOLE = re.compile(r"[0-9]{1,19}")
_SIGNED_WHOLE = re.compile(r"-?[0-9]{1,19}")


def is_id(value: object) -> bool:
    """A database id: a bigint of 1 or more (not a bool, not a float)."""
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value < 2**63


def as_id(raw: str) -> int | None:
    """A path segment or parameter read as a database id (ASCII digits), or None when it is none."""
    return int(raw) if _WHOLE.fullmatch(raw) and is_id(int(raw)) else None


def query_int(
    req: falcon.Request, name: str, default: int | None = None, low: int = 1, high: int = 2**63 - 1
) -> int | None:
    """A whole-number query parameter from `low` to `high`: ASCII digits, with a leading '-' only when
    `low` is negative; no '+', spaces, fractions or other scripts' digits."""
    raw = _typed_param(req, name)
    if raw is None:
        return default
    grammar = _SIGNED_WHOLE if low < 0 else _WHOLE
    if not grammar.fullmatch(raw) or not low <= int(raw) <= high:
        raise ValidationFailed({name: f"must be a whole number from {low} to {high}"})
    return int(raw)


def query_choice(req: falcon.Request, name: str, allowed: Iterable[str]) -> str | None:
    raw = _typed_param(req, name)
    if raw is None:
        return None
    allowed = tuple(allowed)
    if raw not in allowed:
        raise ValidationFailed({name: "must be one of " + ", ".join(allowed)})
    return raw


DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}


def query_bool(req: falcon.Request, name: str) -> bool | None:
    raw = _typed_param(req, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationFailed({name: "must be true or false"})
    return raw == "true"


def query_date(req: falcon.Request, name: str) -> date | None:
    """A `YYYY-MM-DD` query parameter (ASCII digits)."""
    raw = _typed_param(req, name)
    if raw is None:
        return None
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed({name: "must be a date YYYY-MM-DD"}) from None


def query_moment(req: falcon.Request, name: str, *, end: bool = False) -> datetime | None:
    """A date or an ISO 8601 timestamp (UTC when it names no offset) as a bound of a time range.
    With `end`, the bound is inclusive and returned as the exclusive moment after it: a date means the
    whole day, a timestamp that very microsecond."""
    raw = _typed_param(req, name)
    if raw is None:
        return None
    try:
        if not raw.isascii():
            raise ValueError(raw)
        if _ISO_DATE.fullmatch(raw):
            day = date.fromisoformat(raw)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        # a '+' of an offset sent unencoded arrives as a space
        moment = datetime.fromisoformat(_SPACED_OFFSET.sub(r"\1+\2", raw))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment + timedelta(microseconds=1) if end else moment
    except (ValueError, OverflowError):
        raise ValidationFailed({name: "must be a date YYYY-MM-DD or an ISO 8601 timestamp"}) from None
