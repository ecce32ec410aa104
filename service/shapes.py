"""The shapes of the API's answers, as msgspec Structs: /openapi.json describes every 2xx answer with
them (openapi.py turns them into JSON Schemas), and the fuzz tests check every answer against that.

Quantities are `float` here because they leave the service as JSON numbers (computed from Decimal,
never through a float); fields that an answer carries only in some states have defaults, so the schema
lists them as optional. The stock and ledger answers' shapes are in service/stock_shapes.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from msgspec import Struct

T = TypeVar("T")
Role = Literal["ADMIN", "OPERATOR"]
Status = Literal["DRAFT", "APPROVED", "REJECTED"]


class Page(Struct, Generic[T]):
    items: list[T]
    total: int
    next_cursor: str | None


class LedgerPage(Struct, Generic[T]):
    """A page of a list that carries no total (the ledger grows without bound)."""

    items: list[T]
    next_cursor: str | None


class Rows(Struct, Generic[T]):
    """A report's JSON answer: every row."""

    items: list[T]


class Health(Struct):
    status: str
    database: str
    version: str
    environment: str


class OpenApiDocument(Struct):
    """This description of the API (OpenAPI 3.1)."""

    openapi: str
    info: dict
    paths: dict


class Me(Struct):
    id: int
    username: str
    role: Role
    is_active: bool


class Tokens(Struct):
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int
    user: Me


class Revoked(Struct):
    revoked: int


class PasswordChanged(Struct):
    changed: bool


class User(Struct):
    id: int
    username: str
    role: Role
    is_active: bool
    created_at: datetime
    updated_at: datetime


class Location(Struct):
    id: int
    code: str
    name: str
    is_active: bool
    is_default: bool
    created_at: datetime


class AliasRef(Struct):
    id: int
    alias: str


class Article(Struct):
    id: int
    article_no: str
    description: str
    article_group: str | None
    uom: Literal["KG", "L"]
    pack_size: float | None
    pack_uom: str | None
    barcode: str | None
    manufacturer: str | None
    manufacturer_art_number: str | None
    reorder_threshold: float | None
    is_paint: bool
    is_active: bool
    created_at: datetime
    updated_at: datetime
    aliases: list[AliasRef]
    last_consumed_at: datetime | None


class ResolvedArticle(Article):
    matched_by: Literal["article_no", "alias", "barcode"]


class Alias(Struct):
    id: int
    article_id: int
    alias: str
    slot: int
    created_at: datetime


class Batch(Struct):
    id: int
    article_id: int
    article_no: str
    batch_code: str
    received_date: date | None
    expiry_date: date | None
    note: str | None
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ListedBatch(Batch):
    stock_qty: float
    surplus_qty: float
    total_qty: float


class Draft(Struct):
    id: int
    draft_group_id: int
    location_id: int
    article_id: int
    batch_id: int
    quantity_kg: float
    status: Status
    draft_type: Literal["WEIGH_IN", "INVENTORY_SHORTAGE"]
    source: str
    client_event_id: str
    note: str | None
    created_by_user_id: int
    created_at: datetime
    article_no: str
    description: str
    batch_code: str
    expiry_date: date | None
    uom: str
    consumed_surplus_kg: float | None = None  # once approved
    consumed_stock_kg: float | None = None


class GroupHeader(Struct):
    id: int
    name: str
    status: Status
    source: str
    location_id: int
    created_by_user_id: int
    created_by_name: str
    created_at: datetime


class GroupSummary(GroupHeader):
    """A group in a list, in the list statements' column order (they build it from their rows)."""

    decided_by_user_id: int | None
    decided_at: datetime | None
    line_count: int
    total_quantity_kg: float


class Group(GroupHeader):
    line_count: int
    total_quantity_kg: float
    drafts: list[Draft]
    decided_by_user_id: int | None = None  # once decided
    decided_at: datetime | None = None
    decision_note: str | None = None
