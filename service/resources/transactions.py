"""The ledger, read-only: `GET /api/transactions` with every filter, newest first, keyset-paginated."""

from __future__ import annotations

import falcon

from .. import ledger, shapes, stock_shapes
from ..auth import ADMIN
from ..db import Database
from ..filters import LEDGER_PARAMS, ledger_filters
from ..openapi import reads
from ..pagination import LIST_PARAMS, Page


class Transactions:
    doc = {
        "get": reads(
            "The ledger, newest first, with readable names (no total)",
            shapes.LedgerPage[stock_shapes.Transaction],
            access=ADMIN,
            params=[*LIST_PARAMS, *LEDGER_PARAMS],
        )
    }

    def __init__(self, db: Database):
        self.db = db

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        page = Page(req)
        resp.media = page.answer(ledger.transactions(self.db, ledger_filters(req), page.params()))
