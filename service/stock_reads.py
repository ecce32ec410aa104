"""The stock reads of SPEC §10: low stock, expiring batches, consumption per period and the inventory as of
a moment (sql/stock_reads.sql, migration 0012), and the consumption rollup the janitor keeps.

Each read is one statement streamed as a report; the functions here turn plain arguments into its
parameters. The consumption report reads the whole months (grouped by month) and days the rollup has
closed from consumption_months and consumption_days, and the rest from the ledger; the range is split
here, with the rollup's watermark, so the planner sees every bound as a value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from .db import Database
from .errors import ValidationFailed
from .report_shapes import ConsumptionRow, ExpiringRow, InventoryReportRow, LowStockRow

LOW_STOCK, EXPIRING, CONSUMPTION, INVENTORY_AS_OF = (
    "low_stock",
    "expiring",
    "report_consumption",
    "inventory_as_of",
)
LOW_STOCK_FIELDS = LowStockRow.__struct_fields__
EXPIRING_FIELDS = ExpiringRow.__struct_fields__
CONSUMPTION_FIELDS = ConsumptionRow.__struct_fields__
INVENTORY_FIELDS = InventoryReportRow.__struct_fields__
PERIODS = ("day", "week", "month")
DEFAULT_WITHIN_DAYS, MAX_WITHIN_DAYS = 30, 3650
ONE_DAY, ONE_MICROSECOND = timedelta(days=1), timedelta(microseconds=1)


def day_start(moment: datetime) -> datetime:
    """The start (UTC) of the UTC day holding `moment`."""
    utc = moment.astimezone(UTC)
    return datetime(utc.year, utc.month, utc.day, tzinfo=UTC)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def consumption_params(
    db: Database, since: datetime | None, before: datetime | None, group_by: str, filters: dict[str, Any]
) -> dict[str, Any]:
    """The report's parameters for [since, before) (before None: up to now and on), split with the
    rollup's watermark (`split`). A watermark read before the janitor moves it only sends more to the
    ledger, which is always complete."""
    if since is None:
        raise ValidationFailed({"from": "is required: a date YYYY-MM-DD or an ISO 8601 timestamp"})
    since, before = since.astimezone(UTC), before and before.astimezone(UTC)
    if before is not None and before <= since:
        raise ValidationFailed({"to": "must not be before from"})
    closed = db.query("consumption_watermark")["closed_before"]
    try:
        bounds = split(since, before, closed, group_by)
    except (OverflowError, ValueError):  # a day or month boundary past year 9999
        raise ValidationFailed({"from": "must lie within the years 1 to 9999"}) from None
    return {**filters, "group_by": group_by, "lo": since, "hi": before, **bounds}


def split(since: datetime, before: datetime | None, closed: date | None, group_by: str) -> dict[str, Any]:
    """Where each part of [since, before) is read: the whole UTC days the rollup holds (before `closed`),
    [r1, r2), from consumption_days, and of them the whole months [first_month, end_month) from
    consumption_months when grouping by month; [since, r1) and [r2, before) from the ledger."""
    start = day_start(since)
    ceiling = start if start == since else start + ONE_DAY  # the first day boundary at or after since
    r1 = min(ceiling, before) if before is not None else ceiling
    r2 = r1
    if closed is not None:
        last = day_start(before) if before is not None else midnight(closed)
        r2 = max(min(last, midnight(closed)), r1)
    first_day, end_day = r1.date(), r2.date()
    first_month = end_month = end_day  # whole months only when grouping by month
    if group_by == "month":
        month = first_day.replace(day=1)
        first_month = month if month == first_day else (month + timedelta(days=31)).replace(day=1)
        end_month = end_day.replace(day=1)
        if end_month <= first_month:
            first_month = end_month = end_day
    return {
        "r1": r1,
        "r2": r2,
        "first_day": first_day,
        "end_day": end_day,
        "first_month": first_month,
        "end_month": end_month,
    }


def as_of_instant(before: datetime, now: datetime | None = None) -> datetime:
    """The instant an inventory report as of a moment stands at: the last microsecond before `before`
    (a date's end, a timestamp itself), never later than now."""
    return min(before - ONE_MICROSECOND, now or datetime.now(UTC))


def roll_up_consumption(db: Database) -> dict[str, Any]:
    """Adds the days closed since the last run to consumption_days; returns the watermark and how many
    rows it added."""
    return db.query("roll_up_consumption")
