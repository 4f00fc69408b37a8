"""Phones take the lifecycle's transitions by push, decided as over REST: the firm reports its
rectification with "after" photos (its re-inspection clock armed), the inspector closes at the
place; a close pushed away from the place is rejected with every reason, one pushed on a stale
version is a conflict, a role the table does not name is forbidden."""

from __future__ import annotations

import uuid

import pytest

from server.models.device import Device
from tests.hazards.helpers import PHOTO, make_firm

HERE = {"longitude": 121.4737, "latitude": 31.2304}
AWAY = {"longitude": 121.4737, "latitude": 31.2322}
AFTER = "cd" * 32


@pytest.fixture
def world(client, auth_headers, db):
    found = make_firm(client, auth_headers)
    manager, inspector = found["manager"], found["inspector"]
    Device(
        device_id="firm-phone-1",
        user_id=manager.id,
        jurisdiction_id=manager.jurisdiction_id,
        enterprise_id=manager.enterprise_id,
    ).save()
    found["firm_phone"] = auth_headers(manager, device_id="firm-phone-1")
    found["inspector_phone"] = auth_headers(inspector, device_id=f"phone-{inspector.id}")
    body = {
        "enterprise_id": str(found["firm"].id),
        "description": "有限空间作业未设监护人",
        "level": "general",
        "place": {"location": {**HERE, "accuracy_m": 5}},
    }
    rest = auth_headers(inspector)
    hazard = client.post("/api/v1/hazards", json=body, headers=rest).get_json()["id"]
    issued = client.post(
        f"/api/v1/hazards/{hazard}/transitions",
        json={"action": "issue", "version": 1, "deadline": "2026-12-31"},
        headers=rest,
    )
    assert issued.status_code == 200
    found["hazard"] = hazard
    return found


def _push(client, world, phone, base_version, **data):
    device = "firm-phone-1" if phone == "firm_phone" else f"phone-{world['inspector'].id}"
    mutation = {
        "mutation_id": str(uuid.uuid4()),
        "collection": "hazards",
        "op": "update",
        "id": world["hazard"],
        "base_version": base_version,
        "data": data,
    }
    body = {"device_id": device, "mutations": [mutation]}
    answer = client.post("/api/v1/sync/push", json=body, headers=world[phone])
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["receipts"][0]


def test_the_firm_reports_and_the_inspector_closes_at_the_place_by_push(world, client, db):
    assert _push(client, world, "firm_phone", 2, action="acknowledge")["status"] == "applied"
    reported = _push(
        client, world, "firm_phone", 3, action="report_rectified", photos=[AFTER], note="已整改"
    )
    assert reported["status"] == "applied", reported
    stored = db["hazards"].find_one({"_id": world["hazard"]})
    assert stored["state"] == "reported"
    assert [h["action"] for h in stored["history"]][-2:] == ["acknowledge", "report_rectified"]
    armed = {t["_id"].split(":")[2]: t["state"] for t in db["timers"].find()}
    assert armed["reinspection_after_report"] == "scheduled"
    assert armed["rectification"] == "canceled"

    started = _push(client, world, "inspector_phone", 4, action="start_reinspection")
    assert started["status"] == "applied", started
    far = _push(
        client,
        world,
        "inspector_phone",
        5,
        action="close",
        note="已整改合格",
        reinspection={"location": {**AWAY, "accuracy_m": 5}, "photos": [PHOTO]},
    )
    assert far["status"] == "rejected"
    assert far["problem"]["reasons"] == [
        {"code": "NOT_AT_PLACE", "distance_m": 200.2, "radius_m": 100.0},
        {"code": "LABEL_UNUSABLE", "detail": "the hazard is not at a space with a label"},
    ]
    closed = _push(
        client,
        world,
        "inspector_phone",
        5,
        action="close",
        note="已整改合格",
        reinspection={"location": {**HERE, "accuracy_m": 5}, "photos": [PHOTO]},
    )
    assert closed["status"] == "applied", closed
    stored = db["hazards"].find_one({"_id": world["hazard"]})
    assert stored["state"] == "closed" and stored["reinspection"]["by"] == world["inspector"].id
    assert db["timers"].count_documents({"state": "scheduled"}) == 0


def test_a_stale_or_unnamed_push_is_refused(world, client):
    stale = _push(client, world, "firm_phone", 1, action="acknowledge")
    assert stale["status"] == "conflict"
    forbidden = _push(client, world, "inspector_phone", 2, action="acknowledge")
    assert forbidden["status"] == "rejected"
    assert forbidden["problem"]["type"] == "/problems/forbidden"
    office = _push(client, world, "firm_phone", 2, action="penalize")
    assert office["status"] == "rejected"
    assert office["problem"]["errors"][0]["field"] == "data.action"
