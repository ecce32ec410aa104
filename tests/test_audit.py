"""GET /api/audit (SPEC §10): approval actions, transfers, counts and adjustments with actor names,
filters, newest first, keyset pages."""

from __future__ import annotations

import pytest

from .api import adjust, approve, count, create, line

pytestmark = pytest.mark.usefixtures("reconciled")


def audit(client, headers, **params):
    result = client.simulate_get("/api/audit", headers=headers, params=params)
    assert result.status_code == 200, result.text
    return result.json


@pytest.fixture
def history(client, as_admin, as_operator, stockroom, accounts):
    """One of each audited action: an operator's group renamed and edited, then approved; another
    rejected; a count, an adjustment and a transfer by the admin."""
    article, batch = stockroom.paint_batch(stock="100")
    kept = create(client, as_operator, [line(article, batch, 2)]).json
    renamed = client.simulate_patch(
        f"/api/draft-groups/{kept['id']}", headers=as_operator, json={"name": "Kept"}
    )
    assert renamed.status_code == 200, renamed.text
    edited = client.simulate_patch(
        f"/api/drafts/{kept['drafts'][0]['id']}", headers=as_operator, json={"quantity_kg": 3}
    )
    assert edited.status_code == 200, edited.text
    assert approve(client, as_admin, kept["id"], note="fine").status_code == 200
    dropped = create(client, as_operator, [line(article, batch, 1)]).json
    rejected = client.simulate_post(
        f"/api/draft-groups/{dropped['id']}/reject", headers=as_admin, json={"note": "wrong batch"}
    )
    assert rejected.status_code == 200, rejected.text
    assert count(client, as_admin, article, batch, 99, note="yearly count").status_code == 200
    assert (
        adjust(client, as_admin, article, batch, "surplus", "delta", "1.5", note="found").status_code == 200
    )
    shop = stockroom.location("14")
    moved = client.simulate_post(
        "/api/inventory/transfer",
        headers=as_admin,
        json={
            "from_location_id": stockroom.location("13"),
            "to_location_id": shop,
            "lines": [{"article_id": article, "batch_id": batch, "quantity_kg": 4}],
            "note": "to the shop",
        },
    )
    assert moved.status_code == 201, moved.text
    return {"kept": kept["id"], "dropped": dropped["id"], "transfer": moved.json["id"], "batch": batch}


def test_the_trail_lists_every_kind_of_action_newest_first_with_actor_names(client, as_admin, history):
    items = audit(client, as_admin)["items"]
    assert [(item["action"], item["actor_name"]) for item in items] == [
        ("TRANSFER", "admin"),
        ("ADJUST", "admin"),
        ("COUNT", "admin"),
        ("REJECT", "admin"),
        ("APPROVE", "admin"),
        ("EDIT", "operator"),
        ("RENAME", "operator"),
    ]
    by_action = {item["action"]: item for item in items}
    assert by_action["TRANSFER"]["target_id"] == history["transfer"]
    assert by_action["TRANSFER"]["note"] == "to the shop"
    assert by_action["TRANSFER"]["new_value"]["lines"][0]["quantity_kg"] == 4
    assert by_action["APPROVE"]["draft_group_id"] == history["kept"]
    assert by_action["APPROVE"]["note"] == "fine"
    assert by_action["REJECT"]["note"] == "wrong batch"
    assert by_action["RENAME"]["new_value"] == {"name": "Kept"}
    assert by_action["COUNT"]["batch_id"] == history["batch"]
    assert by_action["COUNT"]["note"] == "yearly count"
    assert by_action["ADJUST"]["old_value"]["quantity_kg"] == 2  # the count added 2 to surplus
    assert by_action["ADJUST"]["new_value"]["quantity_kg"] == 3.5
    assert by_action["ADJUST"]["note"] == "found"


def test_filters_by_action_actor_group_and_time(client, as_admin, history, accounts):
    assert [i["action"] for i in audit(client, as_admin, action="TRANSFER")["items"]] == ["TRANSFER"]
    by_operator = audit(client, as_admin, actor_id=accounts["operator"])["items"]
    assert [i["action"] for i in by_operator] == ["EDIT", "RENAME"]
    of_group = audit(client, as_admin, draft_group_id=history["dropped"])["items"]
    assert [i["action"] for i in of_group] == ["REJECT"]
    assert audit(client, as_admin, to="2000-01-01")["items"] == []
    assert len(audit(client, as_admin, **{"from": "2000-01-01"})["items"]) == 7


def test_pages_follow_the_cursor_without_gaps_or_repeats(client, as_admin, history):
    whole = audit(client, as_admin)["items"]
    seen, cursor = [], None
    while True:
        body = audit(client, as_admin, limit=2, **({"cursor": cursor} if cursor else {}))
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == whole


@pytest.mark.parametrize(
    "params",
    [{"action": "DELETE"}, {"actor_id": "x"}, {"from": "yesterday"}, {"cursor": "bm90IGEgY3Vyc29y"}],
)
def test_bad_filters_answer_400(client, as_admin, params):
    result = client.simulate_get("/api/audit", headers=as_admin, params=params)
    assert result.status_code == 400, result.text
    assert result.json["error"]["code"] == "VALIDATION_ERROR"


def test_operators_may_not_read_the_trail(client, as_operator):
    assert client.simulate_get("/api/audit", headers=as_operator).status_code == 403
