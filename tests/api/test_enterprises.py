"""Enterprises: credit-code validation at the edge and lost-update protection with ETags."""

from __future__ import annotations

import pytest

from server.actor import Role
from server.models.enterprise import Enterprise
from tests.factories import EnterpriseFactory, JurisdictionFactory, UserFactory, credit_code


@pytest.fixture
def admin(auth_headers, db):
    return auth_headers(UserFactory(role=Role.ADMIN.value))


def _body(jurisdiction, **overrides):
    return {
        "name": "上海某机械有限公司",
        "credit_code": credit_code(4242),
        "industry": "机械",
        "address": "上海市浦东新区",
        "location": {"longitude": 121.9, "latitude": 30.9},
        "jurisdiction_id": str(jurisdiction.id),
        **overrides,
    }


def test_create_enterprise(client, admin):
    j = JurisdictionFactory()
    response = client.post("/api/v1/enterprises", json=_body(j), headers=admin)
    assert response.status_code == 201
    body = response.get_json()
    assert body["location"] == {"longitude": 121.9, "latitude": 30.9}
    assert body["credit_code"] == credit_code(4242)


def test_credit_code_with_wrong_check_character_is_refused(client, admin):
    j = JurisdictionFactory()
    good = credit_code(4242)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post("/api/v1/enterprises", json=_body(j, credit_code=bad), headers=admin)
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"][0]["field"] == "credit_code"
    assert "check character" in body["detail"]


def test_duplicate_credit_code_is_a_conflict(client, admin):
    j = JurisdictionFactory()
    assert client.post("/api/v1/enterprises", json=_body(j), headers=admin).status_code == 201
    again = client.post("/api/v1/enterprises", json=_body(j, name="other"), headers=admin)
    assert again.status_code == 409
    assert again.get_json()["type"] == "/problems/conflict"


def test_out_of_range_location_names_the_field(client, admin):
    j = JurisdictionFactory()
    response = client.post(
        "/api/v1/enterprises",
        json=_body(j, location={"longitude": 200, "latitude": 0}),
        headers=admin,
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "location.longitude"


def test_patch_needs_the_current_etag(client, admin):
    enterprise = EnterpriseFactory()
    url = f"/api/v1/enterprises/{enterprise.id}"
    missing = client.patch(url, json={"name": "新名"}, headers=admin)
    assert missing.status_code == 428
    etag = client.get(url, headers=admin).headers["ETag"]
    ok = client.patch(url, json={"name": "新名"}, headers={**admin, "If-Match": etag})
    assert ok.status_code == 200
    assert ok.get_json()["version"] == 2
    stale = client.patch(url, json={"name": "又一个"}, headers={**admin, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.mimetype == "application/problem+json"
    assert enterprise.reload().name == "新名"


@pytest.mark.parametrize("bad_id", ["nope", "0" * 24, "zzzzzzzzzzzzzzzzzzzzzzzz"])
def test_malformed_or_unknown_ids_are_404(client, admin, bad_id):
    response = client.get(f"/api/v1/enterprises/{bad_id}", headers=admin)
    assert response.status_code == 404


def test_patch_with_a_null_location_clears_it(client, admin):
    enterprise = EnterpriseFactory(location=[121.9, 30.9])
    url = f"/api/v1/enterprises/{enterprise.id}"
    etag = client.get(url, headers=admin).headers["ETag"]
    response = client.patch(url, json={"location": None}, headers={**admin, "If-Match": etag})
    assert response.status_code == 200
    assert response.get_json()["location"] is None
    assert response.get_json()["version"] == 2
    assert enterprise.reload().location is None
    assert "location" not in Enterprise._get_collection().find_one({"_id": enterprise.id})
