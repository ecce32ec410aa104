"""The stock reads of SPEC §10 as reports (JSON, streamed CSV or XLSX like every report): low stock and
expiring batches for every signed-in user, consumption per period for admins."""

from __future__ import annotations

import falcon

from .. import stock_reads
from ..auth import ANY
from ..filters import MOMENT
from ..openapi import query
from ..report_shapes import ConsumptionRow, ExpiringRow, LowStockRow
from ..validation import ID, query_bool, query_choice, query_int, query_moment
from .reports import Report, wanted_format

LOCATION_PARAM = query("location_id", ID, "one location (default: all, summed)")


class LowStockReport(Report):
    name, statement, row, access = "low-stock", stock_reads.LOW_STOCK, LowStockRow, ANY
    params = [LOCATION_PARAM]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Articles at or below their reorder threshold, largest shortfall first.

        Available is on hand (stock + surplus over active batches, at `location_id` or all locations
        summed) less what DRAFT lines will take; archived articles and articles without a threshold are
        left out."""
        self.answer(req, resp, {"location_id": query_int(req, "location_id")})


class ExpiringReport(Report):
    name, statement, row, access = "expiring", stock_reads.EXPIRING, ExpiringRow, ANY
    params = [
        query(
            "within_days",
            {"type": "integer", "minimum": 0, "maximum": stock_reads.MAX_WITHIN_DAYS, "default": 30},
            "batches expiring before today (UTC) + within_days; expired ones included",
        ),
        query("location_id", ID),
    ]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Every (location, batch) with a balance whose batch expires within `within_days`, earliest
        first (FEFO), expired ones included (negative days_left); system NA batches never appear."""
        within = query_int(
            req, "within_days", stock_reads.DEFAULT_WITHIN_DAYS, low=0, high=stock_reads.MAX_WITHIN_DAYS
        )
        self.answer(req, resp, {"within_days": within, "location_id": query_int(req, "location_id")})


class ConsumptionReport(Report):
    name, statement, row = "consumption", stock_reads.CONSUMPTION, ConsumptionRow
    params = [
        {**query("from", MOMENT, "on or after (required)"), "required": True},
        query("to", MOMENT, "on or before (a date: that whole day; default: now)"),
        query(
            "group_by", {"enum": list(stock_reads.PERIODS), "default": "day"}, "UTC days, ISO weeks, months"
        ),
        query("location_id", ID),
        query("article_id", ID),
        query("is_paint", {"enum": ["true", "false"]}),
    ]

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """Per period and article, the kg approved weigh-ins consumed from surplus and from stock, their
        sum and the number of weigh-ins, periods oldest first."""
        wanted_format(req)  # every parameter is checked before the missing `from` is named
        filters = {
            "location_id": query_int(req, "location_id"),
            "article_id": query_int(req, "article_id"),
            "is_paint": query_bool(req, "is_paint"),
        }
        group_by = query_choice(req, "group_by", stock_reads.PERIODS) or "day"
        since, before = query_moment(req, "from"), query_moment(req, "to", end=True)
        self.answer(req, resp, stock_reads.consumption_params(self.db, since, before, group_by, filters))
