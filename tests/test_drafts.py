"""The older single-draft API: create, read, list, edit, approve and reject one-line groups."""

from __future__ import annotations

import psycopg

from .api import create, line
from .conftest import bearer


def post_draft(client, headers, article, batch, quantity, **extra):
    return client.simulate_post("/api/drafts", headers=headers, json=line(article, batch, quantity, **extra))


def test_single_draft_create_makes_a_one_line_group(client, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    result = post_draft(client, as_operator, article, batch, "2.5", note="left wing")
    assert result.status_code == 201, result.text
    draft = result.json
    assert draft["status"] == "DRAFT" and draft["quantity_kg"] == 2.5 and draft["note"] == "left wing"
    assert draft["source"] == "ui_operator" and draft["draft_group_id"]
    group = client.simulate_get(f"/api/draft-groups/{draft['draft_group_id']}", headers=as_operator).json
    assert [d["id"] for d in group["drafts"]] == [draft["id"]]


def test_single_draft_resend_answers_200_with_the_same_draft(client, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    body = line(article, batch, "1", source="scale")
    first = client.simulate_post("/api/drafts", headers=as_operator, json=body)
    again = client.simulate_post("/api/drafts", headers=as_operator, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json and first.json["source"] == "scale"
    other = client.simulate_post("/api/drafts", headers=as_operator, json={**body, "quantity_kg": "3"})
    assert other.status_code == 409 and other.json["error"]["code"] == "DUPLICATE_EVENT_ID"


def test_single_draft_approve_and_reject(client, as_admin, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="10", surplus="1")
    one = post_draft(client, as_operator, article, batch, "3").json
    two = post_draft(client, as_operator, article, batch, "1").json
    approved = client.simulate_post(f"/api/drafts/{one['id']}/approve", headers=as_admin, json={})
    assert approved.status_code == 200, approved.text
    assert approved.json["status"] == "APPROVED"
    assert (approved.json["consumed_surplus_kg"], approved.json["consumed_stock_kg"]) == (1, 2)
    rejected = client.simulate_post(f"/api/drafts/{two['id']}/reject", headers=as_admin)
    assert rejected.status_code == 200 and rejected.json["status"] == "REJECTED"
    assert stockroom.balances(batch) == ("8.00", "0.00")
    group = client.simulate_get(f"/api/draft-groups/{two['draft_group_id']}", headers=as_admin).json
    assert group["status"] == "REJECTED"


def test_a_line_of_a_multi_line_group_needs_group_approval(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "1"), line(article, batch, "1")]).json
    for action in ("approve", "reject"):
        result = client.simulate_post(f"/api/drafts/{group['drafts'][0]['id']}/{action}", headers=as_admin)
        assert result.status_code == 409 and result.json["error"]["code"] == "GROUP_APPROVAL_REQUIRED"
    assert stockroom.balances(batch) == ("10.00", "0.00")


def test_drafts_list_filters_and_operators_see_their_own(client, as_admin, as_operator, tokens, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    mine = post_draft(client, as_operator, article, batch, "1").json
    post_draft(client, bearer(tokens["operator2"]), article, batch, "1")
    shortage = post_draft(client, as_admin, article, batch, "1", draft_type="INVENTORY_SHORTAGE").json
    own = client.simulate_get("/api/drafts", headers=as_operator).json
    assert [d["id"] for d in own["items"]] == [mine["id"]] and own["total"] == 1
    typed = client.simulate_get(
        "/api/drafts", headers=as_admin, params={"draft_type": "INVENTORY_SHORTAGE"}
    ).json
    assert [d["id"] for d in typed["items"]] == [shortage["id"]]
    me = client.simulate_get("/api/drafts", headers=as_admin, params={"created_by": "me"}).json
    assert [d["id"] for d in me["items"]] == [shortage["id"]]
    assert (
        client.simulate_get("/api/drafts", headers=as_admin, params={"article_id": article}).json["total"]
        == 3
    )
    assert (
        client.simulate_get(f"/api/drafts/{mine['id']}", headers=bearer(tokens["operator2"])).status_code
        == 404
    )


def test_edit_is_audited_allowed_to_the_creator_and_refused_after_approval(
    client, as_admin, as_operator, tokens, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="10")
    draft = post_draft(client, as_operator, article, batch, "1").json
    edited = client.simulate_patch(
        f"/api/drafts/{draft['id']}", headers=as_operator, json={"quantity_kg": "1.255", "note": "re-weighed"}
    )
    assert edited.status_code == 200, edited.text
    assert edited.json["quantity_kg"] == 1.26 and edited.json["note"] == "re-weighed"
    stranger = client.simulate_patch(
        f"/api/drafts/{draft['id']}", headers=bearer(tokens["operator2"]), json={"note": "mine now"}
    )
    assert stranger.status_code == 404
    client.simulate_post(f"/api/drafts/{draft['id']}/approve", headers=as_admin)
    late = client.simulate_patch(f"/api/drafts/{draft['id']}", headers=as_admin, json={"note": "too late"})
    assert late.status_code == 409 and late.json["error"]["code"] == "DRAFT_NOT_EDITABLE"
    with psycopg.connect(database_url) as conn:
        audit = conn.execute(
            "SELECT action, old_value, new_value FROM approval_actions WHERE draft_id = %s", (draft["id"],)
        ).fetchall()
    assert audit == [
        ("EDIT", {"quantity_kg": 1.00, "note": None}, {"quantity_kg": 1.26, "note": "re-weighed"})
    ]
    assert stockroom.balances(batch) == ("8.74", "0.00")


def test_edit_validates_the_quantity(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    draft = post_draft(client, as_admin, article, batch, "1").json
    for bad in ("0", "-1", "abc", 1e400, "10000"):
        result = client.simulate_patch(
            f"/api/drafts/{draft['id']}", headers=as_admin, json={"quantity_kg": bad}
        )
        assert result.status_code == 400, bad
    assert client.simulate_patch(f"/api/drafts/{draft['id']}", headers=as_admin, json={}).status_code == 400
