"""The API calls the tests make again and again, as a client would make them: draft groups, articles,
receipts, counts and adjustments. Each returns falcon's test result (or, where it says so, the body)."""

from __future__ import annotations

import csv
import io
import itertools

_events = itertools.count(1)
_numbers = itertools.count(1)


def line(article, batch, quantity, **extra) -> dict:
    """A draft line with a fresh client_event_id."""
    return {
        "article_id": article,
        "batch_id": batch,
        "quantity_kg": quantity,
        "client_event_id": f"ev-{next(_events)}",
        **extra,
    }


def create(client, headers, lines, **body):
    return client.simulate_post("/api/draft-groups", headers=headers, json={"lines": lines, **body})


def approve(client, headers, group_id, **body):
    return client.simulate_post(f"/api/draft-groups/{group_id}/approve", headers=headers, json=body or None)


def new_article(client, headers, paint: bool = True, **fields) -> dict:
    """The body of a new article (asserted created)."""
    body = {"article_no": f"{'P' if paint else 'C'}-{next(_numbers):05d}", "is_paint": paint, **fields}
    result = client.simulate_post("/api/articles", headers=headers, json=body)
    assert result.status_code == 201, result.text
    return result.json


def add_alias(client, headers, article_id, alias):
    return client.simulate_post(f"/api/articles/{article_id}/aliases", headers=headers, json={"alias": alias})


def resolve(client, headers, query):
    return client.simulate_get("/api/articles/resolve", headers=headers, params={"query": query})


def paint_line(article_id, code="12345", quantity="10", expiry="2030-01-01", **extra) -> dict:
    """A receipt line of a paint batch."""
    return {
        "article_id": article_id,
        "batch_code": code,
        "quantity_kg": quantity,
        "expiry_date": expiry,
        **extra,
    }


def receive(client, headers, order="PO-1", **body):
    return client.simulate_post(
        "/api/inventory/receive", headers=headers, json={"order_number": order, **body}
    )


def summary(client, headers, **params) -> list[dict]:
    """The inventory summary's items."""
    return client.simulate_get("/api/inventory/summary", headers=headers, params=params).json["items"]


def count(client, headers, article, batch, counted, **extra):
    body = {"article_id": article, "batch_id": batch, "counted_total_qty": counted, **extra}
    return client.simulate_post("/api/inventory/count", headers=headers, json=body)


def adjust(client, headers, article, batch, target, mode, quantity, note="shelf check", **extra):
    body = {
        "article_id": article,
        "batch_id": batch,
        "target": target,
        "mode": mode,
        "quantity_kg": quantity,
        "note": note,
        **extra,
    }
    return client.simulate_post("/api/inventory/adjust", headers=headers, json=body)


def transfer(client, headers, source, destination, lines, **body):
    """POST /api/inventory/transfer from one location to another."""
    payload = {"from_location_id": source, "to_location_id": destination, "lines": lines, **body}
    return client.simulate_post("/api/inventory/transfer", headers=headers, json=payload)


def parse_csv(result) -> list[list[str]]:
    """The rows of a CSV export (asserted to be one)."""
    assert result.status_code == 200, result.text
    assert result.headers["content-type"] == "text/csv; charset=utf-8"
    assert result.headers["content-disposition"].startswith("attachment; filename=")
    return list(csv.reader(io.StringIO(result.content.decode("utf-8"), newline="")))
