"""An enterprise's manager reports a hazard of their own by push, from a phone: the same engine
(receipts, replays) with the hazard handler's rules; a major they report awaits a supervisor's
confirmation; nobody else may push one, and no phone edits one afterwards."""

from __future__ import annotations

import uuid

import pytest

from server.models.device import Device
from tests.audit.helpers import actions
from tests.hazards.helpers import PHOTO, make_firm


@pytest.fixture
def world(client, auth_headers, db):
    found = make_firm(client, auth_headers)
    manager = found["manager"]
    Device(
        device_id="firm-phone-1",
        user_id=manager.id,
        jurisdiction_id=manager.jurisdiction_id,
        enterprise_id=manager.enterprise_id,
    ).save()
    found["headers"] = auth_headers(manager, device_id="firm-phone-1")
    return found


def _push(client, headers, device_id, *mutations):
    body = {"device_id": device_id, "mutations": list(mutations)}
    answer = client.post("/api/v1/sync/push", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["receipts"]


def _report(hazard_id, **data):
    return {
        "mutation_id": str(uuid.uuid4()),
        "collection": "hazards",
        "op": "create",
        "id": hazard_id,
        "data": {
            "description": "有限空间入口警示标志缺失",
            "level": "major",
            "place": {"text": "污水池", "location": {"longitude": 121.5, "latitude": 31.2}},
            "photos": [PHOTO],
            **data,
        },
    }


def test_a_manager_reports_a_hazard_by_push(world, client, auth_headers, db, jobs):
    hazard_id = str(uuid.uuid4())
    mutation = _report(hazard_id)
    (receipt,) = _push(client, world["headers"], "firm-phone-1", mutation)
    assert receipt["status"] == "applied", receipt
    (again,) = _push(client, world["headers"], "firm-phone-1", mutation)
    assert again["status"] == "duplicate"
    stored = db["hazards"].find_one({"_id": hazard_id})
    assert (stored["source"], stored["state"], stored["level"], stored["level_confirmed"]) == (
        "self_report",
        "found",
        "major",
        False,
    )
    assert stored["enterprise_id"] == world["firm"].id and stored["inspector_id"] is None
    assert stored["reported_by"] == world["manager"].id
    # The supervisor follows it; the manager reads it back, place included (their own).
    supervisor = client.get(
        f"/api/v1/hazards/{hazard_id}", headers=auth_headers(world["supervisor"])
    )
    assert supervisor.status_code == 200
    mine = client.get(f"/api/v1/hazards/{hazard_id}", headers=world["headers"]).get_json()
    assert mine["place"]["location"]["latitude"] == 31.2
    jobs()
    assert "hazard.create" in actions(db, str(world["jurisdiction"].id))


def test_only_a_manager_reports_and_no_phone_edits_a_hazard(world, client, auth_headers, db):
    inspector = world["inspector"]
    headers = auth_headers(inspector, device_id=f"phone-{inspector.id}")
    (refused,) = _push(client, headers, f"phone-{inspector.id}", _report(str(uuid.uuid4())))
    assert refused["status"] == "rejected"
    assert refused["problem"]["type"] == "/problems/forbidden"
    hazard_id = str(uuid.uuid4())
    _push(client, world["headers"], "firm-phone-1", _report(hazard_id))
    edit = {**_report(hazard_id), "op": "update", "base_version": 1}
    (no_edit,) = _push(client, world["headers"], "firm-phone-1", edit)
    assert no_edit["status"] == "rejected"
    (bad,) = _push(client, world["headers"], "firm-phone-1", _report(str(uuid.uuid4()), level="x"))
    assert bad["status"] == "rejected" and bad["problem"]["errors"][0]["field"] == "data.level"
