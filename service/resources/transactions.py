"""The ledger, read-only: `GET /api/transactions` with every filter, newest first, keyset-paginated."""

from __future__ import annotations

import falcon

from .. import ledger, shapes, stock_shapes
from ..auth import ADMIN
from ..db import Database
from ..filters import LEDGER_PARAMS, ledger_filters
from ..openapi import operation
from ..pagination import LIST_PARAMS, Page


class Transactions:
    doc = {
        "get": operation(
            "The ledger, newest first, with readable names (no total)",
            access=ADMIN,
            response=shapes.LedgerPage[stock_shapes.Transaction],
            params=[*LIST_PARAMS, *LEDGER_PARAMS],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        resp.media = page.answer(ledger.transactions(self.db, ledger_filters(req), page.params()))
