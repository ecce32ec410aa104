"""The worked approval cases of the spec (tests/data/approval_cases.json), each run through the API."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from .api import approve, create, line

CASES = json.loads((Path(__file__).parent / "data" / "approval_cases.json").read_text())["cases"]
TYPES = {"W": "WEIGH_IN", "S": "INVENTORY_SHORTAGE"}


def _cents(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_approval_case(client, as_admin, stockroom, case):
    keys = {}
    for key, balance in case["balances"].items():
        balance = balance or {"stock": "0", "surplus": "0"}
        if case["balances"][key] is None:
            article = stockroom.article()
            keys[key] = (article, stockroom.batch(article))
        else:
            keys[key] = stockroom.paint_batch(stock=balance["stock"], surplus=balance["surplus"])
    lines = [line(*keys[key], qty, draft_type=TYPES[kind]) for key, qty, kind in case["lines"]]
    group = create(client, as_admin, lines).json
    before = stockroom.snapshot()
    result = approve(client, as_admin, group["id"])
    expect = case["expect"]
    assert result.status_code == expect["status"], result.text
    if expect["status"] == 200:
        consumed = [
            (_cents(d["consumed_surplus_kg"]), _cents(d["consumed_stock_kg"])) for d in result.json["drafts"]
        ]
        assert consumed == [(_cents(s), _cents(t)) for s, t in expect["consumed"]]
        for key, final in expect["final"].items():
            stock, surplus = stockroom.balances(keys[key][1])
            assert (_cents(stock), _cents(surplus)) == (_cents(final["stock"]), _cents(final["surplus"]))
    else:
        assert stockroom.snapshot() == before
        details = result.json["error"]["details"]
        shortages = [
            dict(zip(details, figures, strict=True)) for figures in zip(*details.values(), strict=True)
        ]
        draft_ids = [d["id"] for d in group["drafts"]]
        assert [
            (
                s["draft_id"],
                _cents(s["required_kg"]),
                _cents(s["available_stock_kg"]),
                _cents(s["available_surplus_kg"]),
                _cents(s["shortage_kg"]),
            )
            for s in shortages
        ] == [
            (
                draft_ids[e["line"] - 1],
                _cents(e["required_kg"]),
                _cents(e["available_stock_kg"]),
                _cents(e["available_surplus_kg"]),
                _cents(e["shortage_kg"]),
            )
            for e in expect["shortages"]
        ]
