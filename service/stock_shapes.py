"""The shapes of the stock and ledger answers (receipts, counts, adjustments, the inventory summary, the
reconciliation and the ledger), as msgspec Structs; the conventions are service/shapes.py's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from msgspec import Struct


class ReceiptLine(Struct):
    article_id: int
    batch_id: int
    batch_code: str
    expiry_date: date | None
    batch_created: bool
    previous_stock: float
    new_stock: float
    quantity_received: float


class Receipt(Struct):
    receipt_key: str
    order_number: str
    location_id: int
    received_date: date
    received_at: datetime
    client_event_id: str | None
    line_count: int
    total_quantity: float
    lines: list[ReceiptLine]
    # a single-line receipt also carries its line's fields at the top level
    article_id: int | None = None
    batch_id: int | None = None
    batch_code: str | None = None
    expiry_date: date | None = None
    batch_created: bool | None = None
    previous_stock: float | None = None
    new_stock: float | None = None
    quantity_received: float | None = None


class HistoryLine(Struct):
    """One line of a receipt in the receipt history, with its article's and batch's readable names."""

    article_id: int
    article_no: str
    description: str
    batch_id: int
    batch_code: str
    expiry_date: date | None
    quantity_kg: float
    note: str | None
    user_name: str


class HistoryReceipt(Struct):
    receipt_key: str
    order_number: str
    location_id: int
    location_code: str
    received_date: date
    received_at: datetime
    client_event_id: str | None
    user_id: int
    user_name: str
    line_count: int
    total_quantity: float
    lines: list[HistoryLine]


class ReceiptHistory(Struct):
    """The receipt history in the older desktop client's shape (`history`, not `items`)."""

    history: list[HistoryReceipt]
    total: int
    next_cursor: str | None


class Count(Struct):
    result: Literal["over", "no_change", "under"]
    previous_stock: float
    previous_surplus: float
    previous_total: float
    counted_total: float
    delta: float
    surplus_added: float | None
    surplus_reset: float | None
    shortage_group_id: int | None
    shortage_draft_ids: list[int] | None
    shortage_qty: float | None
    count_id: int
    location_id: int
    article_id: int
    batch_id: int
    note: str | None
    client_event_id: str | None
    counted_at: datetime


class Adjustment(Struct):
    location_id: int
    article_id: int
    batch_id: int
    target: Literal["stock", "surplus"]
    mode: Literal["set", "delta"]
    previous_qty: float
    new_qty: float
    delta: float
    stock_qty: float
    surplus_qty: float
    transaction_id: int | None
    note: str


class Placed(Struct):
    """Where and what a row is about: its location, article and batch, by id and by readable name."""

    location_id: int
    location_code: str
    article_id: int
    article_no: str
    description: str
    batch_id: int
    batch_code: str


class InventoryRow(Placed):
    expiry_date: date | None
    is_paint: bool
    uom: str
    stock_qty: float
    surplus_qty: float
    total_qty: float
    pending_qty: float
    updated_at: datetime | None


class Unreconciled(Struct):
    location_id: int
    batch_id: int
    article_id: int
    bucket: Literal["STOCK", "SURPLUS"]
    balance_qty: float
    ledger_qty: float
    difference: float


class Reconciliation(Struct):
    """The reconciliation: unbalanced keys (a page holding all), and the DRAFT groups whose queue entry
    drifted from the groups' own rows; both empty when healthy."""

    items: list[Unreconciled]
    total: int
    next_cursor: str | None
    pending_group_drift: list[int]


class Transaction(Placed):
    """A ledger row with readable names (the transactions report's columns: ledger.TRANSACTION_FIELDS)."""

    id: int
    occurred_at: datetime
    tx_type: str
    bucket: Literal["STOCK", "SURPLUS"] | None
    quantity_kg: float
    user_id: int | None
    user_name: str | None
    source: str | None
    client_event_id: str | None
    order_number: str | None
    draft_id: int | None
    draft_group_id: int | None
    receipt_key: str | None
    note: str | None


class TransferLine(Struct):
    line: int
    article_id: int
    article_no: str
    batch_id: int
    batch_code: str
    bucket: Literal["stock", "surplus"]
    quantity_kg: float


class Transfer(Struct):
    """A transfer as booked: TRANSFER_OUT at the source and TRANSFER_IN at the destination per line."""

    id: int
    from_location_id: int
    to_location_id: int
    note: str | None
    client_event_id: str | None
    created_at: datetime
    created_by_user_id: int
    lines: list[TransferLine]


class AuditEntry(Struct):
    """One audited event: an approval action (APPROVE, REJECT, EDIT, RENAME), a TRANSFER, a COUNT or an
    ADJUST, with who did it, what it was done to, and the values before and after."""

    at: datetime
    action: Literal["APPROVE", "REJECT", "EDIT", "RENAME", "TRANSFER", "COUNT", "ADJUST"]
    actor_id: int
    actor_name: str
    target_type: Literal["draft_group", "draft", "transfer", "inventory_count", "transaction"]
    target_id: int
    draft_group_id: int | None
    location_id: int | None
    article_id: int | None
    batch_id: int | None
    old_value: dict[str, Any] | None
    new_value: dict[str, Any] | None
    note: str | None
