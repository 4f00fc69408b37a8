"""Inspections pushed from phones are audited by the push engine: one event per applied
create, update, submit and delete (who, from which device, the device's time, digests of the
states), none for a conflict or a rejection, and none twice for a replay."""

from __future__ import annotations

import pytest

from checklists.versions import pinned_template
from server.services.audit import event
from tests.audit.helpers import stored
from tests.sync.helpers import make_world, passing_answers, phone_for


@pytest.fixture
def world(client, auth_headers, published, jobs):
    jurisdiction, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="phone-audit-0002")
    return jurisdiction, enterprise, inspector, phone


def test_each_applied_mutation_is_one_event_and_a_conflict_none(world, db, client, jobs):
    jurisdiction, enterprise, inspector, phone = world
    cs = pinned_template("CS", 1)
    first = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        answers=passing_answers(cs),
    )
    phone.edit(first, note="现场复核")
    phone.submit(first)
    second = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1, answers={}
    )
    phone.delete(second)
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["applied"] * 5
    late = {  # an edit of the submitted inspection: a conflict, no change, no event
        "mutation_id": "0b7c6c2e-3c8f-4c49-9a41-6c1a2d1e0a09",
        "collection": "inspections",
        "op": "update",
        "id": first,
        "base_version": 3,
        "data": {"note": "改"},
    }
    body = {"device_id": phone.device_id, "mutations": [late]}
    headers = {"Authorization": f"Bearer {phone.token}"}
    for _ in range(2):  # the second time a replay: duplicate, still no event
        answer = client.post("/api/v1/sync/push", json=body, headers=headers).get_json()
        assert answer["receipts"][0]["status"] in ("conflict", "duplicate")
    jobs()
    events = stored(db, str(jurisdiction.id))
    assert [(e["action"], e["object"]["id"]) for e in events] == [
        ("inspection.create", first),
        ("inspection.update", first),
        ("inspection.submit", first),
        ("inspection.create", second),
        ("inspection.delete", second),
    ]
    assert {e["actor"]["device_id"] for e in events} == {"phone-audit-0002"}
    assert {e["actor"]["user_id"] for e in events} == {str(inspector.id)}
    submitted = db["inspections"].find_one({"_id": first})
    assert events[2]["after"] == event.digest(submitted)
    assert events[2]["before"] == events[1]["after"]
    assert events[0]["before"] is None


def test_a_replayed_batch_appends_nothing_new(world, db, client, jobs):
    jurisdiction, enterprise, _inspector, phone = world
    phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1, answers={}
    )
    body = {"device_id": phone.device_id, "mutations": list(phone.outbox)}
    headers = {"Authorization": f"Bearer {phone.token}"}
    for _ in range(3):
        client.post("/api/v1/sync/push", json=body, headers=headers)
    db["sync_receipts"].delete_many({})  # receipts pruned: the document still remembers
    client.post("/api/v1/sync/push", json=body, headers=headers)
    jobs()
    assert [e["action"] for e in stored(db, str(jurisdiction.id))] == ["inspection.create"]
