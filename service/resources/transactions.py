"""The ledger, read-only: `GET /api/transactions` with every filter, newest first, keyset-paginated."""

from __future__ import annotations

import falcon

from .. import ledger, shapes, stock_shapes
from ..auth import ADMIN
from ..filters import LEDGER_PARAMS, ledger_filters
from ..openapi import reads
from ..pagination import LIST_PARAMS, Page
from . import Resource


class Transactions(Resource):
    doc = {
        "get": reads(
            shapes.LedgerPage[stock_shapes.Transaction], access=ADMIN, params=[*LIST_PARAMS, *LEDGER_PARAMS]
        )
    }

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        """The ledger, newest first, with readable names (no total)."""
        page = Page(req)
        resp.media = page.answer(ledger.transactions(self.db, ledger_filters(req), page.params()))
