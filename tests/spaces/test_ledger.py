"""The confined-space ledger over the API: who writes, who reads, lost-update protection,
audit events, sign photos through the uploads, and the coverage figures."""

from __future__ import annotations

import pytest

from server.models.audit_event import AuditEvent
from server.models.space import Space
from tests.media import helpers as h
from tests.sync.helpers import phone_for

ALL = ("admin", "supervisor", "inspector", "supervisor2", "manager", "worker", "manager_b")


def _body(enterprise, **overrides):
    return {
        "enterprise_id": str(enterprise.id),
        "code": "YX-001",
        "name": "1号污水井",
        "type": "underground",
        "location": {"longitude": 121.9, "latitude": 30.9},
        "geofence_radius_m": 30,
        "depth_m": 6.5,
        "underground": True,
        "gases": ["CH4", "NH3"],
        "ppe": ["正压式空气呼吸器", "安全带"],
        "rescue_equipment": ["三脚架", "救援绳"],
        "explosive": True,
        **overrides,
    }


def _create(client, world, who="manager", **overrides):
    return client.post(
        "/api/v1/spaces", json=_body(world["A"], **overrides), headers=world["headers"][who]
    )


def test_the_manager_registers_a_space_and_it_is_audited(client, world, jobs):
    response = _create(client, world)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["code"] == "YX-001"
    assert body["jurisdiction_id"] == str(world["J"].id)
    assert body["location"] == {"longitude": 121.9, "latitude": 30.9}
    assert body["label_version"] == 0
    assert body["status"] == "active"
    jobs()
    events = AuditEvent.objects(action="space.create")
    assert [e.object for e in events] == [{"kind": "space", "id": body["id"]}]


@pytest.mark.parametrize("who", ["supervisor", "inspector", "worker", "manager_b"])
def test_only_the_manager_and_admins_write(client, world, who):
    response = _create(client, world, who=who)
    # Another firm's manager cannot see enterprise A at all.
    assert response.status_code == (404 if who == "manager_b" else 403)
    assert Space.objects.count() == 0


def test_an_admin_writes_too(client, world):
    assert _create(client, world, who="admin").status_code == 201


def test_a_code_is_unique_within_its_enterprise_only(client, world):
    assert _create(client, world).status_code == 201
    again = _create(client, world, name="另一个")
    assert again.status_code == 409
    assert again.get_json()["type"] == "/problems/conflict"
    other = client.post(
        "/api/v1/spaces", json=_body(world["B"]), headers=world["headers"]["manager_b"]
    )
    assert other.status_code == 201


def test_unknown_gas_codes_are_refused_by_name(client, world):
    response = _create(client, world, gases=["H2S", "XYZ"])
    assert response.status_code == 422
    body = response.get_json()
    assert body["errors"] == [
        {
            "field": "gases",
            "messages": ["unknown gas codes: XYZ (see checklists/data/gas_limits.yaml)"],
        }
    ]


def test_unknown_fields_and_types_are_refused(client, world):
    assert _create(client, world, colour="red").status_code == 422
    assert _create(client, world, type="cave").status_code == 422


@pytest.mark.parametrize("who", ALL)
def test_reads_are_scoped_per_role(client, world, who):
    space_id = _create(client, world).get_json()["id"]
    sees = who in {"admin", "supervisor", "inspector", "manager", "worker"}
    one = client.get(f"/api/v1/spaces/{space_id}", headers=world["headers"][who])
    assert one.status_code == (200 if sees else 404)
    listed = client.get("/api/v1/spaces", headers=world["headers"][who]).get_json()
    assert [s["id"] for s in listed] == ([space_id] if sees else [])


def test_list_by_enterprise(client, world):
    _create(client, world)
    client.post("/api/v1/spaces", json=_body(world["B"]), headers=world["headers"]["manager_b"])
    admin = world["headers"]["admin"]
    listed = client.get(f"/api/v1/spaces?enterprise_id={world['A'].id}", headers=admin)
    assert [s["enterprise_id"] for s in listed.get_json()] == [str(world["A"].id)]


def test_patch_needs_the_current_etag_and_is_audited(client, world, jobs):
    headers = world["headers"]["manager"]
    url = f"/api/v1/spaces/{_create(client, world).get_json()['id']}"
    assert client.patch(url, json={"name": "新名"}, headers=headers).status_code == 428
    etag = client.get(url, headers=headers).headers["ETag"]
    ok = client.patch(url, json={"name": "新名"}, headers={**headers, "If-Match": etag})
    assert ok.status_code == 200
    assert ok.get_json()["version"] == 2
    stale = client.patch(url, json={"name": "又一个"}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412
    etag = ok.headers["ETag"]
    retired = client.patch(
        url, json={"status": "retired", "location": None}, headers={**headers, "If-Match": etag}
    )
    assert retired.get_json()["status"] == "retired"
    assert retired.get_json()["location"] is None
    jobs()
    actions = sorted(e.action for e in AuditEvent.objects if e.object["kind"] == "space")
    assert actions == ["space.create", "space.retire", "space.update"]


def test_a_worker_cannot_patch(client, world):
    url = f"/api/v1/spaces/{_create(client, world).get_json()['id']}"
    headers = world["headers"]["worker"]
    etag = client.get(url, headers=headers).headers["ETag"]
    denied = client.patch(url, json={"name": "x"}, headers={**headers, "If-Match": etag})
    assert denied.status_code == 403


def test_a_sign_photo_arrives_through_the_uploads(client, world, jobs):
    space_id = _create(client, world).get_json()["id"]
    data = h.jpeg()
    meta = h.photo_metadata(data, space_id, kind="space")
    assert h.upload(client, world["headers"]["manager"], data, meta=meta).status_code == 204
    jobs()
    space = client.get(f"/api/v1/spaces/{space_id}", headers=world["headers"]["manager"])
    assert space.get_json()["sign_photo"] == h.sha256(data)
    # Another firm's manager can neither link to it nor see it.
    other = h.jpeg(h.marked_image((320, 240)))
    meta = h.photo_metadata(other, space_id, kind="space")
    created = h.create(client, world["headers"]["manager_b"], other, meta)
    assert created.status_code == 404


def test_coverage_per_enterprise_and_jurisdiction(client, world, jobs):
    headers = world["headers"]["manager"]
    first = _create(client, world).get_json()["id"]
    _create(client, world, code="YX-002")
    data = h.jpeg()
    h.upload(client, headers, data, meta=h.photo_metadata(data, first, kind="space"))
    jobs()
    Space.objects(id=first).update_one(set__label_version=1)
    a = client.get(f"/api/v1/enterprises/{world['A'].id}/space-coverage", headers=headers)
    assert a.status_code == 200
    assert a.get_json() == {
        "enterprise_id": str(world["A"].id),
        "enterprises": 1,
        "enterprises_with_spaces": 1,
        "enterprises_with_ledger": 1,
        "ledger_rate": 1.0,
        "spaces": 2,
        "signed": 1,
        "labelled": 1,
        "signed_rate": 0.5,
        "labelled_rate": 0.5,
    }
    url = f"/api/v1/jurisdictions/{world['J'].id}/space-coverage"
    j = client.get(url, headers=world["headers"]["supervisor"]).get_json()
    # A and B have confined spaces; only A has a ledger. C is in another jurisdiction.
    assert (j["enterprises"], j["enterprises_with_spaces"], j["enterprises_with_ledger"]) == (
        2,
        2,
        1,
    )
    assert j["ledger_rate"] == 0.5
    assert client.get(url, headers=world["headers"]["supervisor2"]).status_code == 404
    assert client.get(url, headers=world["headers"]["manager"]).status_code == 404


def test_spaces_reach_the_phones_of_their_audience_through_the_feed(client, world, auth_headers):
    space_id = _create(client, world).get_json()["id"]
    users = world["users"]
    seen = {}
    for n, who in enumerate(("worker", "supervisor", "manager_b", "supervisor2")):
        phone = phone_for(client, users[who], auth_headers, device_id=f"phone-{who}", seed=n)
        phone.pull()
        seen[who] = phone.server.get("spaces", {})
    assert set(seen) == {"worker", "supervisor", "manager_b", "supervisor2"}
    assert space_id in seen["worker"] and space_id in seen["supervisor"]
    assert seen["worker"][space_id]["code"] == "YX-001"
    assert space_id not in seen["manager_b"] and space_id not in seen["supervisor2"]
