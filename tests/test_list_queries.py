"""No list endpoint issues a query per item: a page of 50 costs the same named statements as a page of 1."""

from __future__ import annotations

import psycopg
import pytest

from service.statements import Statements

from .api import add_alias, approve, create, line, new_article, paint_line, receive

pytestmark = pytest.mark.usefixtures("reconciled")
N = 55


@pytest.fixture
def crowded(client, as_admin, stockroom):
    """More than 50 of everything the new lists show: locations, articles with aliases and weigh-ins,
    batches of one article, inventory rows, receipts and ledger rows."""
    for n in range(N):
        client.simulate_post("/api/locations", headers=as_admin, json={"code": f"L{n}", "name": f"Rack {n}"})
    articles = [new_article(client, as_admin) for _ in range(N)]
    for article in articles:
        add_alias(client, as_admin, article["id"], f"ALIAS-{article['id']}")
    first = articles[0]
    lines = [paint_line(first["id"], code=str(10000 + n), quantity="5") for n in range(N)]
    batches = [ln["batch_id"] for ln in receive(client, as_admin, order="PO-BULK", lines=lines).json["lines"]]
    for n, article in enumerate(articles[1:]):
        receive(client, as_admin, order=f"PO-{n}", **paint_line(article["id"], quantity="2"))
    group = create(client, as_admin, [line(first["id"], batch, "1") for batch in batches[:10]]).json
    assert approve(client, as_admin, group["id"]).status_code == 200
    return first


def _statements_for(client, headers, path, params, monkeypatch):
    sent = []
    real_execute = psycopg.Cursor.execute

    def counting_execute(self, query, params=None, **kwargs):
        sent.append(query)
        return real_execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting_execute)
    try:
        result = client.simulate_get(path, headers=headers, params=params)
    finally:
        monkeypatch.undo()
    assert result.status_code == 200, result.text
    return result.json, sent


def test_a_page_of_50_costs_the_same_statements_as_a_page_of_1(client, as_admin, crowded, monkeypatch):
    sql = Statements()
    lists = {
        "/api/locations": [sql.list_locations, sql.count_locations],
        "/api/articles": [sql.list_articles, sql.count_articles],
        f"/api/articles/{crowded['article_no']}/batches": [sql.list_batches, sql.count_batches],
        "/api/inventory/summary": [sql.list_inventory, sql.count_inventory_rows],
        "/api/inventory/receipts": [sql.list_receipts, sql.count_receipts],
        "/api/transactions": [sql.list_transactions],
    }
    client.simulate_get("/api/auth/me", headers=as_admin)  # the role cache is warm: no query for the caller
    for path, statements in lists.items():
        page, sent = _statements_for(client, as_admin, path, {"limit": 50}, monkeypatch)
        items = page["history"] if path == "/api/inventory/receipts" else page["items"]
        assert len(items) == 50 and page["next_cursor"], path
        assert sent == statements, path
        _, sent_for_one = _statements_for(client, as_admin, path, {"limit": 1}, monkeypatch)
        assert sent_for_one == statements, path
