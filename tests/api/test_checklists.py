"""Checklist downloads: versions, ETag/304, locales, publishing and unknown codes."""

from __future__ import annotations

import pytest

from server.actor import Role
from tests.factories import JurisdictionFactory, UserFactory, regulator


@pytest.fixture
def inspector_headers(auth_headers, db):
    return auth_headers(regulator(Role.INSPECTOR, JurisdictionFactory()))


def test_list_has_the_four_campaigns(client, inspector_headers, published):
    response = client.get("/api/v1/checklists", headers=inspector_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert [c["code"] for c in body] == ["CS", "FH", "HW", "OC"]
    # Version 1 is each template's first edition, version 2 the current files.
    assert all(c["version"] == 2 and c["item_count"] >= 15 for c in body)
    assert all("items" not in c for c in body)
    assert body[0]["locale"] == "zh-CN"


def test_download_is_cacheable_and_a_second_one_answers_304(client, inspector_headers, published):
    first = client.get("/api/v1/checklists/CS", headers=inspector_headers)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert "Accept-Language" in first.headers["Vary"]
    body = first.get_json()
    assert body["code"] == "CS" and body["version"] == 2 and len(body["items"]) >= 15
    item = next(i for i in body["items"] if i["code"] == "CS-09")
    assert item["answer"] == "numeric" and item["pass_rule"]["min"] == 19.5
    second = client.get(
        "/api/v1/checklists/CS", headers={**inspector_headers, "If-None-Match": etag}
    )
    assert second.status_code == 304
    assert second.data == b""


def test_every_item_has_legal_basis_and_each_list_a_major_item(
    client, inspector_headers, published
):
    for code in ("CS", "HW", "FH", "OC"):
        items = client.get(f"/api/v1/checklists/{code}", headers=inspector_headers).get_json()[
            "items"
        ]
        assert len(items) >= 15
        assert all(i["legal_basis"] for i in items)
        assert any(i["major_hazard"] for i in items)


def test_locale_follows_accept_language(client, inspector_headers, published):
    zh = client.get("/api/v1/checklists/CS", headers=inspector_headers)
    en = client.get(
        "/api/v1/checklists/CS", headers={**inspector_headers, "Accept-Language": "en-US,en;q=0.9"}
    )
    assert en.get_json()["locale"] == "en"
    assert zh.get_json()["title"] != en.get_json()["title"]
    assert zh.headers["ETag"] != en.headers["ETag"]


def test_versioned_url_is_immutable_and_accepts_the_hash(client, inspector_headers, published):
    by_number = client.get("/api/v1/checklists/HW/versions/1", headers=inspector_headers)
    assert by_number.status_code == 200
    assert "immutable" in by_number.headers["Cache-Control"]
    content_hash = by_number.get_json()["content_hash"]
    by_hash = client.get(
        f"/api/v1/checklists/HW/versions/{content_hash}", headers=inspector_headers
    )
    assert by_hash.get_json() == by_number.get_json()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/checklists/XX",
        "/api/v1/checklists/CS/versions/99",
        "/api/v1/checklists/CS/versions/not-a-hash",
    ],
)
def test_unknown_code_or_version_is_a_404_problem(client, inspector_headers, published, url):
    response = client.get(url, headers=inspector_headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "/problems/not-found"


def test_publishing_unchanged_content_creates_no_version(client, auth_headers, published):
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    response = client.post("/api/v1/checklists/publish", headers=admin)
    assert response.status_code == 200
    assert {c["version"] for c in response.get_json()} == {2}


def test_only_admins_publish(client, inspector_headers, published):
    response = client.post("/api/v1/checklists/publish", headers=inspector_headers)
    assert response.status_code == 403


@pytest.mark.parametrize("version", ["¹", "٣", "99999999999999999999999"])
def test_odd_version_strings_are_404_not_500(client, inspector_headers, published, version):
    response = client.get(f"/api/v1/checklists/CS/versions/{version}", headers=inspector_headers)
    assert response.status_code == 404
