"""Locations over HTTP: the list marks the default, admins create them."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("reconciled")


def test_list_marks_the_configured_default_location(client, as_operator, stockroom):
    stockroom.location("14")
    result = client.simulate_get("/api/locations", headers=as_operator)
    assert result.status_code == 200, result.text
    assert [(loc["code"], loc["is_default"]) for loc in result.json["items"]] == [("13", True), ("14", False)]
    assert result.json["total"] == 2 and result.json["next_cursor"] is None


def test_admin_creates_a_location_with_a_trimmed_code(client, as_admin):
    result = client.simulate_post("/api/locations", headers=as_admin, json={"code": " 21 ", "name": "Annex"})
    assert result.status_code == 201, result.text
    assert (
        result.json["code"] == "21"
        and result.json["is_active"] is True
        and result.json["is_default"] is False
    )


def test_a_taken_location_code_is_409(client, as_admin):
    client.simulate_post("/api/locations", headers=as_admin, json={"code": "22", "name": "A"})
    result = client.simulate_post("/api/locations", headers=as_admin, json={"code": "22", "name": "B"})
    assert result.status_code == 409 and result.json["error"]["code"] == "DUPLICATE_LOCATION"


def test_bad_location_fields_are_400(client, as_admin):
    for body in ({"code": " ", "name": "x"}, {"code": "x" * 21, "name": "x"}, {"code": "1"}):
        result = client.simulate_post("/api/locations", headers=as_admin, json=body)
        assert result.status_code == 400 and result.json["error"]["code"] == "VALIDATION_ERROR", body


def test_locations_page_by_id(client, as_admin, stockroom):
    for n in range(3):
        client.simulate_post("/api/locations", headers=as_admin, json={"code": f"L{n}", "name": "x"})
    first = client.simulate_get("/api/locations", headers=as_admin, params={"limit": 2}).json
    rest = client.simulate_get(
        "/api/locations", headers=as_admin, params={"limit": 2, "cursor": first["next_cursor"]}
    ).json
    assert [loc["code"] for loc in first["items"] + rest["items"]] == ["13", "L0", "L1", "L2"]
    assert rest["next_cursor"] is None
