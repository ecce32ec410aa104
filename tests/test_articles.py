"""Articles over HTTP: create, read by article_no, edit, archive / restore, delete only when unused,
the list filters and last_consumed_at, aliases (five at most, globally unique) and resolve."""

from __future__ import annotations

import threading

import pytest

from .api import add_alias, approve, create, line, new_article, resolve

pytestmark = pytest.mark.usefixtures("reconciled")


def test_create_article_and_read_it_by_article_no_with_aliases(client, as_admin, as_operator):
    created = new_article(
        client,
        as_admin,
        article_no="P-TOP-1",
        description="Topcoat white",
        uom="L",
        pack_size="2.5",
        barcode="4006000100101",
        reorder_threshold=10,
    )
    assert created["is_active"] is True and created["is_paint"] is True
    assert created["pack_size"] == 2.5 and created["reorder_threshold"] == 10
    assert created["aliases"] == [] and created["last_consumed_at"] is None
    add_alias(client, as_admin, created["id"], "ral 9010")
    result = client.simulate_get("/api/articles/p-top-1", headers=as_operator)
    assert result.status_code == 200, result.text
    assert result.json["id"] == created["id"] and result.json["description"] == "Topcoat white"
    assert [a["alias"] for a in result.json["aliases"]] == ["RAL 9010"]


def test_unknown_article_no_is_404_article_not_found(client, as_operator):
    result = client.simulate_get("/api/articles/NOPE-1", headers=as_operator)
    assert result.status_code == 404 and result.json["error"]["code"] == "ARTICLE_NOT_FOUND"


def test_duplicate_article_no_is_409_case_insensitively(client, as_admin):
    first = new_article(client, as_admin, article_no="P-DUP")
    result = client.simulate_post("/api/articles", headers=as_admin, json={"article_no": " p-dup "})
    assert result.status_code == 409
    assert result.json["error"]["code"] == "DUPLICATE_ARTICLE"
    assert result.json["error"]["details"]["existing_article_id"] == first["id"]


BAD_ARTICLES = [
    ({"article_no": "   "}, "article_no"),
    ({"article_no": "x" * 51}, "article_no"),
    ({"article_no": "P-1", "uom": "G"}, "uom"),
    ({"article_no": "P-1", "pack_size": 0}, "pack_size"),
    ({"article_no": "P-1", "reorder_threshold": "-1"}, "reorder_threshold"),
    ({"article_no": "P-1", "pack_size": "NaN"}, "pack_size"),
    ({"article_no": "P-1", "colour": "red"}, "colour"),
]


def test_bad_article_fields_are_400_naming_the_field(client, as_admin):
    for body, field in BAD_ARTICLES:
        result = client.simulate_post("/api/articles", headers=as_admin, json=body)
        assert result.status_code == 400, (body, result.text)
        assert field in result.json["error"]["details"]["fields"], body
    assert client.simulate_get("/api/articles", headers=as_admin, params={"active": "all"}).json["total"] == 0


def test_edit_changes_fields_and_null_clears_an_optional_one(client, as_admin):
    article = new_article(client, as_admin, barcode="123", manufacturer="Sikkens")
    result = client.simulate_patch(
        f"/api/articles/{article['id']}",
        headers=as_admin,
        json={"description": " Primer ", "barcode": None, "pack_size": "1.005", "article_no": "P-RENAMED"},
    )
    assert result.status_code == 200, result.text
    body = result.json
    assert body["description"] == "Primer" and body["barcode"] is None and body["manufacturer"] == "Sikkens"
    assert body["pack_size"] == 1.01 and body["article_no"] == "P-RENAMED"


def test_edit_to_a_taken_article_no_is_409(client, as_admin):
    new_article(client, as_admin, article_no="P-TAKEN")
    other = new_article(client, as_admin)
    result = client.simulate_patch(
        f"/api/articles/{other['id']}", headers=as_admin, json={"article_no": "p-taken"}
    )
    assert result.status_code == 409 and result.json["error"]["code"] == "DUPLICATE_ARTICLE"


def test_is_paint_changes_only_while_the_article_has_no_batches(client, as_admin, stockroom):
    fresh = new_article(client, as_admin)
    result = client.simulate_patch(f"/api/articles/{fresh['id']}", headers=as_admin, json={"is_paint": False})
    assert result.status_code == 200 and result.json["is_paint"] is False
    article, _ = stockroom.paint_batch(stock="1")
    result = client.simulate_patch(f"/api/articles/{article}", headers=as_admin, json={"is_paint": False})
    assert result.status_code == 409
    assert (
        result.json["error"]["code"] == "ARTICLE_IN_USE" and result.json["error"]["details"]["batches"] == 1
    )


def test_edit_or_delete_by_something_that_is_not_an_id_is_404(client, as_admin):
    for result in (
        client.simulate_patch("/api/articles/P-1", headers=as_admin, json={"description": "x"}),
        client.simulate_delete("/api/articles/P-1", headers=as_admin),
        client.simulate_post("/api/articles/99999999999999999999/archive", headers=as_admin),
        client.simulate_patch("/api/articles/424242", headers=as_admin, json={"description": "x"}),
    ):
        assert result.status_code == 404 and result.json["error"]["code"] == "ARTICLE_NOT_FOUND"


def test_archive_and_restore_toggle_is_active(client, as_admin):
    article = new_article(client, as_admin)
    archived = client.simulate_post(f"/api/articles/{article['id']}/archive", headers=as_admin)
    assert archived.status_code == 200 and archived.json["is_active"] is False
    restored = client.simulate_post(f"/api/articles/{article['id']}/restore", headers=as_admin)
    assert restored.status_code == 200 and restored.json["is_active"] is True


def test_archived_article_takes_no_new_drafts_but_stays_visible(client, as_admin, as_operator, stockroom):
    article, batch = stockroom.paint_batch(stock="5")
    client.simulate_post(f"/api/articles/{article}/archive", headers=as_admin)
    result = create(client, as_operator, [line(article, batch, "1")])
    assert result.status_code == 409 and result.json["error"]["code"] == "ARTICLE_ARCHIVED"
    listed = client.simulate_get("/api/articles", headers=as_operator, params={"active": "false"}).json
    assert [a["id"] for a in listed["items"]] == [article]


def test_delete_an_unreferenced_article_is_204_and_a_referenced_one_409_with_counts(
    client, as_admin, stockroom
):
    unused = new_article(client, as_admin)
    add_alias(client, as_admin, unused["id"], "GONE-WITH-IT")
    result = client.simulate_delete(f"/api/articles/{unused['id']}", headers=as_admin)
    assert result.status_code == 204
    assert client.simulate_get(f"/api/articles/{unused['article_no']}", headers=as_admin).status_code == 404
    assert resolve(client, as_admin, "GONE-WITH-IT").status_code == 404

    article, batch = stockroom.paint_batch(stock="10")
    group = create(client, as_admin, [line(article, batch, "2")]).json
    approve(client, as_admin, group["id"])
    result = client.simulate_delete(f"/api/articles/{article}", headers=as_admin)
    assert result.status_code == 409
    assert result.json["error"]["code"] == "ARTICLE_IN_USE"
    assert result.json["error"]["details"] == {"batches": 1, "balances": 2, "drafts": 1, "transactions": 3}


def test_list_filters_by_active_is_paint_and_q_over_article_no_description_and_alias(
    client, as_admin, as_operator
):
    paint = new_article(client, as_admin, article_no="P-LIST-1", description="Clear coat")
    consumable = new_article(client, as_admin, paint=False, article_no="C-LIST-1", description="Tape 38mm")
    archived = new_article(client, as_admin, article_no="P-LIST-2", description="Old clear")
    client.simulate_post(f"/api/articles/{archived['id']}/archive", headers=as_admin)
    add_alias(client, as_admin, consumable["id"], "MASKING")

    def ids(**params):
        result = client.simulate_get("/api/articles", headers=as_operator, params=params)
        assert result.status_code == 200, result.text
        return [a["id"] for a in result.json["items"]]

    assert ids() == [consumable["id"], paint["id"]]  # active only by default, ordered by article_no
    assert ids(active="all") == [consumable["id"], paint["id"], archived["id"]]
    assert ids(active="false") == [archived["id"]]
    assert ids(is_paint="false") == [consumable["id"]]
    assert ids(q="clear", active="all") == [paint["id"], archived["id"]]
    assert ids(q="mask") == [consumable["id"]]
    assert ids(q="list-1") == [consumable["id"], paint["id"]]
    assert ids(q="%") == [] and ids(q="_") == []  # wildcards match themselves
    assert (
        client.simulate_get("/api/articles", headers=as_operator, params={"active": "maybe"}).status_code
        == 400
    )


def test_list_pages_by_article_no_with_a_total(client, as_admin):
    made = [new_article(client, as_admin, article_no=f"P-PAGE-{n:02d}")["id"] for n in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.simulate_get("/api/articles", headers=as_admin, params=params).json
        assert page["total"] == 5
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    bad = client.simulate_get("/api/articles", headers=as_admin, params={"cursor": "WzFd"})
    assert bad.status_code == 400 and "cursor" in bad.json["error"]["details"]["fields"]


def test_last_consumed_at_is_the_time_of_the_newest_approved_weigh_in(client, as_admin, stockroom):
    article, batch = stockroom.paint_batch(stock="10")
    no_article = client.simulate_get("/api/articles", headers=as_admin).json["items"][0]
    assert no_article["last_consumed_at"] is None
    group = create(client, as_admin, [line(article, batch, "1")]).json
    approved = approve(client, as_admin, group["id"]).json
    listed = client.simulate_get("/api/articles", headers=as_admin).json["items"][0]
    assert listed["id"] == article and listed["last_consumed_at"] is not None
    assert listed["last_consumed_at"][:19] == approved["decided_at"][:19]


def test_aliases_are_trimmed_upper_cased_and_unique_across_articles_case_insensitively(client, as_admin):
    one, two = new_article(client, as_admin), new_article(client, as_admin)
    created = add_alias(client, as_admin, one["id"], "  ral9010 ")
    assert created.status_code == 201 and created.json["alias"] == "RAL9010" and created.json["slot"] == 1
    again = add_alias(client, as_admin, two["id"], "Ral9010")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "DUPLICATE_ALIAS"
    assert again.json["error"]["details"]["article_id"] == one["id"]
    listed = client.simulate_get(f"/api/articles/{one['id']}/aliases", headers=as_admin).json
    assert [a["alias"] for a in listed["items"]] == ["RAL9010"] and listed["total"] == 1
    assert add_alias(client, as_admin, one["id"], "   ").status_code == 400
    assert add_alias(client, as_admin, 424242, "X").status_code == 404


def test_a_sixth_alias_is_409_alias_limit_reached(client, as_admin):
    article = new_article(client, as_admin)
    for n in range(5):
        assert add_alias(client, as_admin, article["id"], f"A{n}").status_code == 201
    result = add_alias(client, as_admin, article["id"], "A5")
    assert result.status_code == 409 and result.json["error"]["code"] == "ALIAS_LIMIT_REACHED"


def test_concurrent_alias_inserts_never_exceed_five(client, as_admin):
    article = new_article(client, as_admin)
    start = threading.Barrier(12)
    statuses = []

    def add(n):
        start.wait()
        statuses.append(add_alias(client, as_admin, article["id"], f"RACE-{n}").status_code)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 5 + [409] * 7
    listed = client.simulate_get(f"/api/articles/{article['id']}/aliases", headers=as_admin).json
    assert sorted(a["slot"] for a in listed["items"]) == [1, 2, 3, 4, 5]


def test_deleting_an_alias_checks_it_belongs_to_the_article_and_frees_its_slot(client, as_admin):
    one, two = new_article(client, as_admin), new_article(client, as_admin)
    alias = add_alias(client, as_admin, one["id"], "FREE-ME").json
    wrong = client.simulate_delete(f"/api/articles/{two['id']}/aliases/{alias['id']}", headers=as_admin)
    assert wrong.status_code == 404 and wrong.json["error"]["code"] == "ALIAS_NOT_FOUND"
    right = client.simulate_delete(f"/api/articles/{one['id']}/aliases/{alias['id']}", headers=as_admin)
    assert right.status_code == 204
    assert add_alias(client, as_admin, two["id"], "free-me").json["slot"] == 1


def test_resolve_matches_article_no_then_alias_then_barcode_for_operators(client, as_admin, as_operator):
    by_no = new_article(client, as_admin, article_no="4006000100101")
    by_alias = new_article(client, as_admin, barcode="4006000100202")
    add_alias(client, as_admin, by_alias["id"], "4006000100101")  # shadowed by the article_no
    add_alias(client, as_admin, by_alias["id"], "RAL7035")
    by_barcode = new_article(client, as_admin, barcode="4006000100303")

    def matched(query):
        result = resolve(client, as_operator, query)
        assert result.status_code == 200, result.text
        return result.json["id"], result.json["matched_by"]

    assert matched("4006000100101") == (by_no["id"], "article_no")
    assert matched("ral7035") == (by_alias["id"], "alias")
    assert matched("4006000100202") == (by_alias["id"], "barcode")
    assert matched("4006000100303\r\n") == (by_barcode["id"], "barcode")  # a scanner's line end
    missing = resolve(client, as_operator, "NOTHING")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "ARTICLE_NOT_FOUND"
    assert resolve(client, as_operator, "  ").status_code == 400


def test_resolve_of_a_barcode_two_articles_share_is_409_naming_both(client, as_admin):
    one = new_article(client, as_admin, barcode="SHARED")
    two = new_article(client, as_admin, barcode="shared")
    result = resolve(client, as_admin, "Shared")
    assert result.status_code == 409 and result.json["error"]["code"] == "AMBIGUOUS_QUERY"
    assert result.json["error"]["details"]["article_nos"] == [one["article_no"], two["article_no"]]


def test_an_article_no_no_article_can_have_is_404_not_an_error(client, as_operator):
    for number in ("a%00b", "x" * 51):
        for path in (f"/api/articles/{number}", f"/api/articles/{number}/batches"):
            result = client.simulate_get(path, headers=as_operator)
            assert result.status_code == 404 and result.json["error"]["code"] == "ARTICLE_NOT_FOUND", path
