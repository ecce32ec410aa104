"""Storage locations: the list (the configured default marked) and creation.

Each function takes the database it runs on (`db`: the `Database`, or the `Unit` of a keyed request)
and plain values; it returns rows in the answer's shape, or raises the error of a refusal
(service/refusals.py). Statements: sql/locations.sql.
"""

from __future__ import annotations

from . import shapes
from .db import REPEATABLE_READ, Database
from .errors import ValidationFailed
from .refusals import refuse

LOCATION_FIELDS = shapes.Location.__struct_fields__


def list_params(default_code: str, after_id: int | None, limit: int | None) -> dict:
    """Parameters of `list_locations`: the rows after `after_id`; every row without `limit`."""
    return {"default_code": default_code, "after_id": after_id, "limit": limit}


def list_locations(db: Database, params: dict) -> tuple[list[dict], int]:
    """(rows, total): a page of locations by id."""
    rows, total = db.transaction(
        ("list_locations", params), ("count_locations", None), isolation=REPEATABLE_READ
    )
    return rows, total["total"]


def create(db: Database, code: str, name: str, is_active: bool, default_code: str) -> dict:
    """A new location (code and name trimmed, neither blank)."""
    code, name = code.strip(), name.strip()
    problems = {field: "must not be blank" for field, value in (("code", code), ("name", name)) if not value}
    if problems:
        raise ValidationFailed(problems)
    params = {"code": code, "name": name, "is_active": is_active, "default_code": default_code}
    row = db.query("create_location", params)
    if row is None:
        refuse("location_code_taken", location_code=code)
    return row
