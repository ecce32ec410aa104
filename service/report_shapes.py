"""The shapes of the stock reads of SPEC §10 (low stock, expiring batches, consumption, the inventory as
of a moment), as msgspec Structs; the conventions are service/shapes.py's."""

from __future__ import annotations

from datetime import date

from msgspec import Struct

from .stock_shapes import InventoryRow, Placed


class LowStockRow(Struct):
    """An article at or below its reorder threshold: available = on hand (stock + surplus over active
    batches) - pending (DRAFT lines); shortfall = threshold - available."""

    article_id: int
    article_no: str
    description: str
    uom: str
    reorder_threshold: float
    on_hand_kg: float
    pending_kg: float
    available_kg: float
    shortfall_kg: float


class ExpiringRow(Placed):
    """A (location, batch) with a balance whose batch expires soon or has expired (days_left < 0)."""

    expiry_date: date
    days_left: int
    is_paint: bool
    uom: str
    stock_qty: float
    surplus_qty: float
    total_qty: float


class ConsumptionRow(Struct):
    """What approved weigh-ins consumed of one article in one period (named by its first day, UTC)."""

    period: date
    article_id: int
    article_no: str
    description: str
    uom: str
    is_paint: bool
    from_surplus_kg: float
    from_stock_kg: float
    consumed_kg: float
    weighins: int


class InventoryReportRow(InventoryRow):
    """An inventory report row; with `as_of`, pending_qty and updated_at are null (not kept for the past)."""

    pending_qty: float | None
