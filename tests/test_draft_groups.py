"""Draft groups over HTTP: bulk creation, surplus-first approval, atomic refusal, rejection."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from service import pagination

from .api import approve, count, create, line


def ledger(database_url, group_id):
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT draft_id, tx_type, bucket, quantity_kg::text FROM transactions "
            "WHERE draft_group_id = %s ORDER BY id",
            (group_id,),
        ).fetchall()


def test_bulk_create_makes_one_group_with_both_lines_in_draft(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    result = create(client, as_admin, [line(article, batch, "3"), line(article, batch, 4.5)])
    assert result.status_code == 201, result.text
    group = result.json
    assert group["status"] == "DRAFT" and group["line_count"] == 2
    assert group["total_quantity_kg"] == 7.5
    assert group["name"].startswith("AdminDraft_001-")
    assert [d["status"] for d in group["drafts"]] == ["DRAFT", "DRAFT"]
    assert {d["draft_group_id"] for d in group["drafts"]} == {group["id"]}
    first = group["drafts"][0]
    assert first["article_no"].startswith("P-") and first["batch_code"] and first["uom"] == "KG"
    assert first["expiry_date"] == "2030-01-01"


def test_approve_consumes_surplus_before_stock(client, as_admin, stockroom, database_url):
    article, batch = stockroom.paint_batch(stock="10", surplus="5")
    group = create(client, as_admin, [line(article, batch, "3"), line(article, batch, "4")]).json
    result = approve(client, as_admin, group["id"], note="ok")
    assert result.status_code == 200, result.text
    body = result.json
    assert body["status"] == "APPROVED" and body["decision_note"] == "ok"
    assert [(d["consumed_surplus_kg"], d["consumed_stock_kg"]) for d in body["drafts"]] == [(3, 0), (2, 2)]
    assert stockroom.balances(batch) == ("8.00", "0.00")
    one, two = (d["id"] for d in body["drafts"])
    assert ledger(database_url, group["id"]) == [
        (one, "WEIGH_IN", None, "3.00"),
        (one, "SURPLUS_CONSUMED", "SURPLUS", "-3.00"),
        (two, "WEIGH_IN", None, "4.00"),
        (two, "SURPLUS_CONSUMED", "SURPLUS", "-2.00"),
        (two, "STOCK_CONSUMED", "STOCK", "-2.00"),
    ]


def test_short_group_changes_nothing_and_lists_the_short_line(client, as_admin, stockroom):
    a1, b1 = stockroom.paint_batch(stock="10")
    a2, b2 = stockroom.paint_batch(stock="1", surplus="0.5")
    group = create(client, as_admin, [line(a1, b1, "5"), line(a2, b2, "2")]).json
    before = stockroom.snapshot()
    result = approve(client, as_admin, group["id"])
    assert result.status_code == 409
    error = result.json["error"]
    assert error["code"] == "INSUFFICIENT_STOCK"
    article_no = client.simulate_get(f"/api/draft-groups/{group['id']}", headers=as_admin).json["drafts"][1][
        "article_no"
    ]
    assert error["details"] == {
        "draft_id": [group["drafts"][1]["id"]],
        "article_id": [a2],
        "article_no": [article_no],
        "batch_id": [b2],
        "batch_code": [group["drafts"][1]["batch_code"]],
        "required_kg": [2],
        "available_stock_kg": [1],
        "available_surplus_kg": [0.5],
        "shortage_kg": [0.5],
    }
    assert f"{article_no} batch {group['drafts'][1]['batch_code']} is 0.50 kg short" in error["message"]
    assert stockroom.snapshot() == before
    detail = client.simulate_get(f"/api/draft-groups/{group['id']}", headers=as_admin).json
    assert detail["status"] == "DRAFT" and {d["status"] for d in detail["drafts"]} == {"DRAFT"}


def test_reject_marks_group_and_lines_rejected_and_changes_nothing_else(
    client, as_admin, stockroom, database_url
):
    article, batch = stockroom.paint_batch(stock="10", surplus="5")
    group = create(client, as_admin, [line(article, batch, "3"), line(article, batch, "4")]).json
    before = stockroom.snapshot()
    result = client.simulate_post(
        f"/api/draft-groups/{group['id']}/reject", headers=as_admin, json={"note": "wrong"}
    )
    assert result.status_code == 200, result.text
    assert result.json["status"] == "REJECTED" and result.json["decision_note"] == "wrong"
    assert {d["status"] for d in result.json["drafts"]} == {"REJECTED"}
    after = stockroom.snapshot()
    for table in ("stock", "surplus", "transactions"):
        assert after[table] == before[table]
    with psycopg.connect(database_url) as conn:
        audit = conn.execute(
            "SELECT action, note FROM approval_actions WHERE draft_group_id = %s", (group["id"],)
        ).fetchall()
    assert audit == [("REJECT", "wrong")]


def test_two_lines_on_one_batch_are_both_consumed(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "3"), line(article, batch, "4")]).json
    assert approve(client, as_admin, group["id"]).status_code == 200
    assert stockroom.balances(batch) == ("3.00", "0.00")


def test_mixed_weigh_in_and_shortage_lines_on_one_key(client, as_admin, stockroom, database_url):
    article, batch = stockroom.paint_batch(stock="10", surplus="5")
    group = create(
        client,
        as_admin,
        [line(article, batch, "8"), line(article, batch, "4", draft_type="INVENTORY_SHORTAGE")],
    ).json
    body = approve(client, as_admin, group["id"]).json
    assert [(d["consumed_surplus_kg"], d["consumed_stock_kg"]) for d in body["drafts"]] == [(5, 3), (0, 4)]
    assert stockroom.balances(batch) == ("3.00", "0.00")
    shortage_rows = [r for r in ledger(database_url, group["id"]) if r[0] == body["drafts"][1]["id"]]
    assert shortage_rows == [(body["drafts"][1]["id"], "INVENTORY_ADJUSTMENT", "STOCK", "-4.00")]


def test_approving_twice_is_409_group_not_draft(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "1")]).json
    assert approve(client, as_admin, group["id"]).status_code == 200
    again = approve(client, as_admin, group["id"])
    assert again.status_code == 409 and again.json["error"]["code"] == "GROUP_NOT_DRAFT"
    assert stockroom.balances(batch) == ("9.00", "0.00")


def test_unknown_group_is_404(client, as_admin):
    result = approve(client, as_admin, 424242)
    assert result.status_code == 404 and result.json["error"]["code"] == "GROUP_NOT_FOUND"


def test_operator_may_not_approve_nor_see_others_groups(client, as_admin, as_operator, tokens, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    mine = create(client, as_operator, [line(article, batch, "1")]).json
    theirs = create(
        client, {"Authorization": f"Bearer {tokens['operator2']}"}, [line(article, batch, "1")]
    ).json
    assert mine["source"] == "ui_operator" and mine["name"].startswith("OperatorDraft_")
    forbidden = approve(client, as_operator, mine["id"])
    assert forbidden.status_code == 403 and forbidden.json["error"]["details"]["required_role"] == "ADMIN"
    assert client.simulate_get(f"/api/draft-groups/{theirs['id']}", headers=as_operator).status_code == 404
    listed = client.simulate_get("/api/draft-groups", headers=as_operator).json
    assert [g["id"] for g in listed["items"]] == [mine["id"]] and listed["total"] == 1
    everything = client.simulate_get("/api/draft-groups", headers=as_admin).json
    assert {g["id"] for g in everything["items"]} == {mine["id"], theirs["id"]}


def test_operator_may_not_create_shortage_lines(client, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    result = create(client, as_operator, [line(article, batch, "1", draft_type="INVENTORY_SHORTAGE")])
    assert result.status_code == 403


def test_resending_the_same_group_answers_200_and_creates_nothing(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    lines = [line(article, batch, "1"), line(article, batch, "2")]
    first = create(client, as_admin, lines)
    before = stockroom.snapshot()
    again = create(client, as_admin, lines)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert stockroom.snapshot() == before


def test_same_event_id_with_other_content_is_409_naming_it(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    original = line(article, batch, "1")
    create(client, as_admin, [original])
    changed = {**original, "quantity_kg": "2"}
    result = create(client, as_admin, [changed])
    assert result.status_code == 409
    assert result.json["error"]["code"] == "DUPLICATE_EVENT_ID"
    assert original["client_event_id"] in result.json["error"]["message"]


def test_consumable_line_without_batch_uses_the_na_batch(client, as_admin, stockroom, database_url):
    article = stockroom.article(paint=False)
    result = create(client, as_admin, [line(article, None, "1"), line(article, None, "2")])
    assert result.status_code == 201, result.text
    assert {d["batch_code"] for d in result.json["drafts"]} == {"NA"}
    with psycopg.connect(database_url) as conn:
        na = conn.execute(
            "SELECT count(*), min(expiry_date)::text FROM batches WHERE article_id = %s", (article,)
        ).fetchone()
    assert na == (1, "2099-12-31")


def test_paint_line_without_batch_is_400_batch_required(client, as_admin, stockroom):
    article, _ = stockroom.paint_batch(stock="1")
    result = create(client, as_admin, [line(article, None, "1")])
    assert result.status_code == 400 and result.json["error"]["code"] == "BATCH_REQUIRED"
    assert "lines[0].batch_id" in result.json["error"]["details"]["fields"]


def test_batch_of_another_article_is_400_batch_article_mismatch(client, as_admin, stockroom):
    article, _ = stockroom.paint_batch(stock="1")
    _, other_batch = stockroom.paint_batch(stock="1")
    result = create(client, as_admin, [line(article, other_batch, "1")])
    assert result.status_code == 400 and result.json["error"]["code"] == "BATCH_ARTICLE_MISMATCH"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"article_id": 999999, "batch_id": None}, "ARTICLE_NOT_FOUND"),
        ({"batch_id": 999999}, "BATCH_NOT_FOUND"),
    ],
)
def test_unknown_article_or_batch_is_404(client, as_admin, stockroom, body, code):
    article, batch = stockroom.paint_batch(stock="1")
    result = create(client, as_admin, [{**line(article, batch, "1"), **body}])
    assert result.status_code == 404 and result.json["error"]["code"] == code


def test_unknown_location_is_404(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="1")
    result = create(client, as_admin, [line(article, batch, "1")], location_id=9999)
    assert result.status_code == 404 and result.json["error"]["code"] == "LOCATION_NOT_FOUND"


def test_every_malformed_line_is_reported_with_its_path(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="1")
    lines = [
        line(article, batch, "0"),
        {"article_id": "x", "quantity_kg": "1"},
        line(article, batch, "NaN"),
        line(article, batch, "10000"),
        line(article, batch, "\u0661"),  # ARABIC-INDIC DIGIT ONE
        line(article, batch, True),
    ]
    result = create(client, as_admin, lines, extra=1)
    assert result.status_code == 400
    fields = result.json["error"]["details"]["fields"]
    assert {"lines[1].article_id", "lines[1].client_event_id", "extra", "lines[5].quantity_kg"} <= set(fields)
    again = create(client, as_admin, [lines[0], lines[2], lines[3], lines[4]])
    assert set(again.json["error"]["details"]["fields"]) == {f"lines[{n}].quantity_kg" for n in range(4)}


def test_quantities_round_half_up_to_the_cent(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    group = create(
        client, as_admin, [line(article, batch, "1.005"), line(article, batch, 0.004 + 0.001)]
    ).json
    assert [d["quantity_kg"] for d in group["drafts"]] == [1.01, 0.01]


def test_more_than_500_lines_is_400(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="1")
    result = create(client, as_admin, [line(article, batch, "1") for _ in range(501)])
    assert result.status_code == 400 and "lines" in result.json["error"]["details"]["fields"]


def test_rename_is_audited_and_refused_after_approval(client, as_admin, stockroom, database_url):
    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "1")]).json
    renamed = client.simulate_patch(
        f"/api/draft-groups/{group['id']}", headers=as_admin, json={"name": "Monday"}
    )
    assert renamed.status_code == 200 and renamed.json["name"] == "Monday"
    approve(client, as_admin, group["id"])
    late = client.simulate_patch(
        f"/api/draft-groups/{group['id']}", headers=as_admin, json={"name": "Tuesday"}
    )
    assert late.status_code == 409 and late.json["error"]["code"] == "GROUP_NOT_DRAFT"
    with psycopg.connect(database_url) as conn:
        audit = conn.execute(
            "SELECT action, old_value, new_value FROM approval_actions WHERE draft_group_id = %s ORDER BY id",
            (group["id"],),
        ).fetchall()
    assert audit[0] == ("RENAME", {"name": group["name"]}, {"name": "Monday"})
    assert [a[0] for a in audit] == ["RENAME", "APPROVE"]


def test_generated_names_count_per_prefix_and_day(client, as_admin, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    names = [
        create(client, h, [line(article, batch, "1")]).json["name"] for h in (as_admin, as_admin, as_operator)
    ]
    assert [n.split("-")[0] for n in names] == ["AdminDraft_001", "AdminDraft_002", "OperatorDraft_001"]


def test_group_list_filters_and_pages(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    ids = [
        create(client, as_admin, [line(article, batch, "1"), line(article, batch, "2")], source="scale").json[
            "id"
        ]
        for _ in range(3)
    ]
    create(client, as_admin, [line(article, batch, "1")])
    page = client.simulate_get(
        "/api/draft-groups", headers=as_admin, params={"source": "scale", "limit": 2}
    ).json
    assert page["total"] == 3 and [g["id"] for g in page["items"]] == ids[::-1][:2]
    assert page["items"][0]["line_count"] == 2 and page["items"][0]["total_quantity_kg"] == 3
    assert page["items"][0]["created_by_name"] == "admin"
    rest = client.simulate_get(
        "/api/draft-groups",
        headers=as_admin,
        params={"source": "scale", "limit": 2, "cursor": page["next_cursor"]},
    ).json
    assert [g["id"] for g in rest["items"]] == [ids[0]] and rest["next_cursor"] is None
    bad = client.simulate_get("/api/draft-groups", headers=as_admin, params={"status": "NOPE"})
    assert bad.status_code == 400


def test_an_id_sent_as_a_float_is_400_not_500(client, as_admin, stockroom):
    # found by the fuzzer: JSON Schema counts 907.0 as an integer, PostgreSQL's bigint does not
    article, batch = stockroom.paint_batch(stock="1")
    result = create(client, as_admin, [{**line(article, batch, "1"), "article_id": float(article)}])
    assert result.status_code == 400 and "lines[0].article_id" in result.json["error"]["details"]["fields"]


PENDING_AS_KEPT = """
SELECT group_id, name, source, location_id, created_by_user_id, created_at, line_count, total_quantity_kg
FROM pending_groups ORDER BY group_id"""
PENDING_AS_DERIVED = """
SELECT g.id, g.name, g.source, g.location_id, g.created_by_user_id, g.created_at, count(d.id),
       coalesce(sum(d.quantity_kg), 0)
FROM draft_groups g LEFT JOIN weigh_in_drafts d ON d.draft_group_id = g.id
WHERE g.status = 'DRAFT' GROUP BY g.id ORDER BY g.id"""


def test_pending_groups_holds_exactly_the_draft_groups_as_they_are(
    client, as_admin, as_operator, stockroom, database_url
):

    article, batch = stockroom.paint_batch(stock="10")
    kept, approved, rejected = (create(client, as_admin, [line(article, batch, "1")]).json for _ in range(3))
    own = create(
        client, as_operator, [line(article, batch, "1"), line(article, batch, "2")], source="scale"
    ).json
    shortage = count(client, as_admin, article, batch, "5").json["shortage_group_id"]
    assert approve(client, as_admin, approved["id"]).status_code == 200
    decisions = [
        client.simulate_post(f"/api/draft-groups/{rejected['id']}/reject", headers=as_admin),
        client.simulate_patch(f"/api/draft-groups/{kept['id']}", headers=as_admin, json={"name": "renamed"}),
        client.simulate_patch(
            f"/api/drafts/{own['drafts'][1]['id']}", headers=as_operator, json={"quantity_kg": "7.25"}
        ),
    ]
    assert [d.status_code for d in decisions] == [200, 200, 200], [d.text for d in decisions]

    with psycopg.connect(database_url) as conn:
        kept_rows, derived = (conn.execute(q).fetchall() for q in (PENDING_AS_KEPT, PENDING_AS_DERIVED))
    assert kept_rows == derived and [row[0] for row in derived] == sorted([kept["id"], own["id"], shortage])

    def listed(headers, **params):
        page = client.simulate_get("/api/draft-groups", headers=headers, params={"status": "DRAFT", **params})
        return [
            (g["id"], g["name"], g["line_count"], g["total_quantity_kg"]) for g in page.json["items"]
        ], page.json["total"]

    items, total = listed(as_admin)  # oldest first: the approval queue
    assert total == 3 and items[:2] == [(kept["id"], "renamed", 1, 1), (own["id"], own["name"], 2, 8.25)]
    assert listed(as_admin, source="scale") == ([(own["id"], own["name"], 2, 8.25)], 1)
    assert listed(as_operator)[1] == 1
    assert listed(as_admin, created_by=own["created_by_user_id"], source="ui_admin") == ([], 0)


def test_concurrent_edits_keep_the_draft_list_total(client, as_admin, stockroom, database_url):
    import threading

    from service.statements import Statements

    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "1"), line(article, batch, "1")]).json
    first, second = (d["id"] for d in group["drafts"])
    edit = Statements().edit_draft
    barrier = threading.Barrier(8)

    def editor(k: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            barrier.wait()
            for n in range(10):
                params = {
                    "draft_id": (first, second)[(k + n) % 2],
                    "quantity_kg": f"{k + 1}.{n}5",
                    "set_note": False,
                    "note": None,
                    "actor_id": group["created_by_user_id"],
                    "actor_is_admin": True,
                }
                assert conn.execute(edit, params).fetchone()[0] == "edited"

    threads = [threading.Thread(target=editor, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with psycopg.connect(database_url) as conn:
        kept, derived = (conn.execute(q).fetchall() for q in (PENDING_AS_KEPT, PENDING_AS_DERIVED))
        audited = conn.execute(
            "SELECT count(*) FROM approval_actions WHERE action = 'EDIT' AND draft_group_id = %s",
            (group["id"],),
        ).fetchone()[0]
        trail = conn.execute(
            "SELECT draft_id, (old_value->>'quantity_kg')::numeric, (new_value->>'quantity_kg')::numeric "
            "FROM approval_actions WHERE action = 'EDIT' AND draft_group_id = %s ORDER BY id",
            (group["id"],),
        ).fetchall()
    assert kept == derived and audited == 80
    # each edit's audited old value is the value the edit before it left
    last = {first: Decimal("1.00"), second: Decimal("1.00")}
    for draft_id, old, new in trail:
        assert old == last[draft_id]
        last[draft_id] = new


@pytest.mark.parametrize("status", ["DRAFT", "APPROVED", None])
def test_a_page_past_the_end_still_counts_the_matching_groups(client, as_admin, stockroom, status):
    from service.pagination import encode

    article, batch = stockroom.paint_batch(stock="10")
    groups = [create(client, as_admin, [line(article, batch, "1")]).json["id"] for _ in range(2)]
    if status == "APPROVED":
        for group_id in groups:
            assert approve(client, as_admin, group_id).status_code == 200
    params = {"status": status} if status else {}
    last = client.simulate_get("/api/draft-groups", headers=as_admin, params={**params, "limit": 1}).json
    # DRAFT lists oldest first (the approval queue), the others newest first
    first, end = (groups[0], max(groups)) if status == "DRAFT" else (groups[1], min(groups))
    assert [g["id"] for g in last["items"]] == [first] and last["total"] == 2 and last["next_cursor"]
    past = {**params, "cursor": encode([end])}
    page = client.simulate_get("/api/draft-groups", headers=as_admin, params=past).json
    assert page == {"items": [], "next_cursor": None, "total": 2}


def test_the_unfiltered_draft_list_answers_as_the_filtered_statement_does(client, as_admin, stockroom):
    # status=DRAFT alone runs list_all_pending_groups; with a filter that every group passes (they all
    # sit at the default location) it runs list_pending_groups: page by page the answers must agree
    article, batch = stockroom.paint_batch(stock="10")
    groups = [create(client, as_admin, [line(article, batch, "1")]).json for _ in range(5)]
    location = groups[0]["location_id"]
    assert {g["location_id"] for g in groups} == {location}

    def pages(**params):
        answers, cursor = [], None
        while True:
            query = {"status": "DRAFT", "limit": 2, **params, **({"cursor": cursor} if cursor else {})}
            answer = client.simulate_get("/api/draft-groups", headers=as_admin, params=query).json
            answers.append(answer)
            cursor = answer["next_cursor"]
            if cursor is None:
                return answers

    unfiltered = pages()
    assert [len(a["items"]) for a in unfiltered] == [2, 2, 1] and {a["total"] for a in unfiltered} == {5}
    assert unfiltered == pages(location_id=location)


@pytest.mark.parametrize("position", [2**63, 0, -5, 1.5, "7"])
def test_a_cursor_no_page_could_have_issued_is_400(client, as_admin, position):
    cursor = pagination.encode([position])  # well-formed, as the API writes cursors, but out of range
    for status in ("DRAFT", "APPROVED"):
        result = client.simulate_get(
            "/api/draft-groups", headers=as_admin, params={"status": status, "cursor": cursor}
        )
        assert result.status_code == 400, result.text
        assert "cursor" in result.json["error"]["details"]["fields"]


@pytest.mark.parametrize("params", [{"status": "DRAFT"}, {"status": "DRAFT", "source": "scale"}, {}])
def test_a_group_reads_the_same_in_every_list_as_in_its_detail(client, as_admin, stockroom, params):
    # the lists build their items from their own statements' rows (GroupSummary), the detail from
    # group_detail: every field they share must come out alike, timestamps and numbers included
    article, batch = stockroom.paint_batch(stock="10")
    created = create(
        client, as_admin, [line(article, batch, "1.25"), line(article, batch, "2")], source="scale"
    )
    detail = client.simulate_get(f"/api/draft-groups/{created.json['id']}", headers=as_admin)
    listed = client.simulate_get("/api/draft-groups", headers=as_admin, params={**params, "limit": 1}).json
    item = listed["items"][0]
    assert item["id"] == created.json["id"] and listed["total"] == 1
    assert set(item) - set(detail.json) == {"decided_by_user_id", "decided_at"}
    assert item["decided_at"] is None and item["total_quantity_kg"] == 3.25 and item["line_count"] == 2
    shared = {k: v for k, v in item.items() if k in detail.json}
    assert shared == {k: detail.json[k] for k in shared}
    assert f'"created_at":"{item["created_at"]}"'.encode() in detail.content  # the same text, not only value
    assert item["created_at"].endswith("Z")
