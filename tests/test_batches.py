"""Batches over HTTP: FEFO listing, creation under the batch-code rule, edits."""

from __future__ import annotations

import pytest

from .api import create, line, new_article

pytestmark = pytest.mark.usefixtures("reconciled")


def new_batch(client, headers, article_id, code, **fields):
    return client.simulate_post(
        "/api/batches", headers=headers, json={"article_id": article_id, "batch_code": code, **fields}
    )


def test_batches_are_listed_active_only_in_fefo_order(client, as_admin, as_operator):
    article = new_article(client, as_admin)
    for code, expiry in (
        ("11111", "2031-01-01"),
        ("22222", "2030-06-01"),
        ("33333", None),
        ("44444", "2030-06-01"),
    ):
        assert new_batch(client, as_admin, article["id"], code, expiry_date=expiry).status_code == 201
    inactive = new_batch(client, as_admin, article["id"], "55555", expiry_date="2029-01-01").json
    client.simulate_patch(f"/api/batches/{inactive['id']}", headers=as_admin, json={"is_active": False})
    result = client.simulate_get(f"/api/articles/{article['article_no']}/batches", headers=as_operator)
    assert result.status_code == 200, result.text
    assert [b["batch_code"] for b in result.json["items"]] == ["22222", "44444", "11111", "33333"]
    assert result.json["total"] == 4
    everything = client.simulate_get(
        f"/api/articles/{article['article_no']}/batches",
        headers=as_admin,
        params={"active": "all", "limit": 2},
    ).json
    codes = [b["batch_code"] for b in everything["items"]]
    while everything["next_cursor"]:
        everything = client.simulate_get(
            f"/api/articles/{article['article_no']}/batches",
            headers=as_admin,
            params={"active": "all", "limit": 2, "cursor": everything["next_cursor"]},
        ).json
        codes += [b["batch_code"] for b in everything["items"]]
    assert codes == ["55555", "22222", "44444", "11111", "33333"]


def test_batch_list_carries_quantities_and_a_missing_article_is_404(client, as_operator, stockroom):
    _, batch = stockroom.paint_batch(stock="8", surplus="1.5")
    number = client.simulate_get("/api/articles", headers=as_operator).json["items"][0]["article_no"]
    item = client.simulate_get(f"/api/articles/{number}/batches", headers=as_operator).json["items"][0]
    assert (item["id"], item["stock_qty"], item["surplus_qty"], item["total_qty"]) == (batch, 8, 1.5, 9.5)
    missing = client.simulate_get("/api/articles/NOPE/batches", headers=as_operator)
    assert missing.status_code == 404 and missing.json["error"]["code"] == "ARTICLE_NOT_FOUND"


def test_paint_batch_codes_of_4_5_or_9_to_12_digits_are_accepted(client, as_admin):
    article = new_article(client, as_admin)
    for code in ("1234", "12345", "123456789", "123456789012"):
        result = new_batch(client, as_admin, article["id"], code, expiry_date="2030-01-01", note="lot")
        assert result.status_code == 201, result.text
        assert result.json["batch_code"] == code and result.json["expiry_date"] == "2030-01-01"
        assert result.json["article_no"] == article["article_no"]


BAD_CODES = [
    "123",
    "123456",
    "12345678",
    "1234567890123",
    "12a45",
    "NA",
    "",
    " 12345",
    "12345\n",
    "١٢٣٤٥",
    "\uff11\uff12\uff13\uff14\uff15",  # fullwidth digits
    "12345\x0b",
]


def test_other_batch_codes_are_400_invalid_batch_format(client, as_admin):
    article = new_article(client, as_admin)
    for code in BAD_CODES:
        result = new_batch(client, as_admin, article["id"], code)
        assert result.status_code == 400, (code, result.text)
        assert result.json["error"]["code"] == "INVALID_BATCH_FORMAT", code
    listed = client.simulate_get(f"/api/articles/{article['article_no']}/batches", headers=as_admin)
    assert listed.json["total"] == 0


def test_a_consumable_gets_no_batches_by_hand(client, as_admin):
    article = new_article(client, as_admin, paint=False)
    result = new_batch(client, as_admin, article["id"], "12345")
    assert result.status_code == 400 and result.json["error"]["code"] == "INVALID_BATCH_FORMAT"


def test_a_taken_batch_code_is_409_and_an_unknown_article_404(client, as_admin):
    article = new_article(client, as_admin)
    new_batch(client, as_admin, article["id"], "12345")
    again = new_batch(client, as_admin, article["id"], "12345")
    assert again.status_code == 409 and again.json["error"]["code"] == "DUPLICATE_BATCH"
    other = new_article(client, as_admin)
    assert new_batch(client, as_admin, other["id"], "12345").status_code == 201  # per article
    missing = new_batch(client, as_admin, 424242, "12345")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "ARTICLE_NOT_FOUND"


def test_an_archived_article_takes_no_new_batch(client, as_admin):
    article = new_article(client, as_admin)
    client.simulate_post(f"/api/articles/{article['id']}/archive", headers=as_admin)
    result = new_batch(client, as_admin, article["id"], "12345")
    assert result.status_code == 409 and result.json["error"]["code"] == "ARTICLE_ARCHIVED"


def test_edit_sets_expiry_only_while_unset_and_changes_note_and_is_active(client, as_admin):
    article = new_article(client, as_admin)
    batch = new_batch(client, as_admin, article["id"], "12345").json
    url = f"/api/batches/{batch['id']}"
    first = client.simulate_patch(
        url, headers=as_admin, json={"expiry_date": "2030-05-01", "note": "shelf 3"}
    )
    assert first.status_code == 200, first.text
    assert first.json["expiry_date"] == "2030-05-01" and first.json["note"] == "shelf 3"
    same = client.simulate_patch(url, headers=as_admin, json={"expiry_date": "2030-05-01"})
    assert same.status_code == 200
    changed = client.simulate_patch(url, headers=as_admin, json={"expiry_date": "2031-01-01"})
    assert changed.status_code == 409 and changed.json["error"]["code"] == "EXPIRY_ALREADY_SET"
    assert changed.json["error"]["details"]["expiry_date"] == "2030-05-01"
    off = client.simulate_patch(url, headers=as_admin, json={"is_active": False, "note": None})
    assert off.json["is_active"] is False and off.json["note"] is None
    assert (
        client.simulate_patch("/api/batches/424242", headers=as_admin, json={"note": "x"}).status_code == 404
    )
    assert client.simulate_patch(url, headers=as_admin, json={"expiry_date": "2030-02-30"}).status_code == 400


def test_an_inactive_batch_takes_no_new_drafts(client, as_admin, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="5")
    client.simulate_patch(f"/api/batches/{batch}", headers=as_admin, json={"is_active": False})
    result = create(client, as_operator, [line(article, batch, "1")])
    assert result.status_code == 409 and result.json["error"]["code"] == "BATCH_INACTIVE"
