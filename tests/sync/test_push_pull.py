"""Push receipts and pull pages, one behaviour at a time, through the reference phone."""

from __future__ import annotations

import pytest

from checklists.versions import pinned_template
from server.models.inspection import Inspection
from tests.sync.helpers import (
    FAIL,
    failing_yes_no_item,
    make_world,
    passing_answers,
    phone_for,
)


@pytest.fixture
def cs(published):
    return pinned_template("CS", 1)


@pytest.fixture
def world(client, auth_headers, published):
    jurisdiction, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="phone-0001")
    return {"enterprise": enterprise, "inspector": inspector, "phone": phone}


def _new(phone, world, answers=None):
    return phone.create_inspection(
        enterprise_id=str(world["enterprise"].id),
        checklist_code="CS",
        checklist_version=1,
        answers=answers or {},
    )


def test_create_push_and_pull_back(world, cs):
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs, 5))
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["applied"]
    assert receipts[0]["version"] == 1
    phone.pull()
    server_copy = phone.server["inspections"][inspection_id]
    assert server_copy["status"] == "draft"
    assert server_copy["answers"]["CS-01"] == {
        "value": "yes",
        "note": None,
        "photos": [],
        "outcome": "pass",
    }
    assert set(phone.server["checklist_versions"]) == {
        f"{code}:{n}" for code in ("CS", "FH", "HW", "OC") for n in (1, 2)
    }
    assert str(world["enterprise"].id) in phone.server["enterprises"]


def test_replayed_batch_gets_identical_duplicate_receipts(world, client, cs):
    phone = world["phone"]
    _new(phone, world, passing_answers(cs, 3))
    batch = list(phone.outbox)
    body = {"device_id": phone.device_id, "mutations": batch}
    headers = {"Authorization": f"Bearer {phone.token}"}
    first = client.post("/api/v1/sync/push", json=body, headers=headers).get_json()["receipts"]
    second = client.post("/api/v1/sync/push", json=body, headers=headers).get_json()["receipts"]
    third = client.post("/api/v1/sync/push", json=body, headers=headers).get_json()["receipts"]
    assert first[0]["status"] == "applied"
    assert second == third
    assert second[0]["status"] == "duplicate"
    assert second[0]["first_status"] == "applied"
    assert {k: v for k, v in second[0].items() if k not in ("status", "first_status")} == {
        k: v for k, v in first[0].items() if k != "status"
    }
    assert Inspection.objects.count() == 1


def test_one_bad_record_does_not_block_the_others(world, client, cs):
    phone = world["phone"]
    good = _new(phone, world, passing_answers(cs, 2))
    bad = _new(phone, world, {"CS-09": {"value": "lots"}})
    unknown = _new(phone, world, {"XX-01": {"value": "yes"}})
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["applied", "rejected", "rejected"]
    problem = receipts[1]["problem"]
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == "answers.CS-09.value"
    assert "expects a number" in problem["errors"][0]["messages"][0]
    assert receipts[2]["problem"]["errors"][0]["field"] == "answers.XX-01"
    assert phone.outbox == []
    assert len(phone.attention) == 2
    assert Inspection.objects.count() == 1 and Inspection.objects.get(id=good)
    assert bad != unknown


def test_malformed_records_are_rejected_one_by_one(world, client):
    phone = world["phone"]
    body = {
        "device_id": phone.device_id,
        "mutations": [
            "not an object",
            {"mutation_id": "x", "collection": "inspections", "op": "create", "id": "y"},
            {
                "mutation_id": "6a7c6c2e-3c8f-4c49-9a41-6c1a2d1e0a01",
                "collection": "inspections",
                "op": "fly",
                "id": "6a7c6c2e-3c8f-4c49-9a41-6c1a2d1e0a02",
            },
        ],
    }
    response = client.post(
        "/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {phone.token}"}
    )
    assert response.status_code == 200
    receipts = response.get_json()["receipts"]
    assert [r["status"] for r in receipts] == ["rejected"] * 3
    assert receipts[2]["problem"]["errors"] == [
        {"field": "op", "messages": ["Must be one of: create, update, submit, delete."]}
    ]


def test_batch_and_record_size_limits(world, client, cs):
    phone = world["phone"]
    headers = {"Authorization": f"Bearer {phone.token}"}
    too_many = {"device_id": phone.device_id, "mutations": [{}] * 201}
    response = client.post("/api/v1/sync/push", json=too_many, headers=headers)
    assert response.status_code == 413
    assert response.get_json()["type"] == "/problems/too-large"
    _new(phone, world, {"CS-01": {"value": "yes", "note": "x" * 300_000}})
    receipts = phone.push()
    assert receipts[0]["status"] == "rejected"
    assert receipts[0]["problem"]["type"] == "/problems/too-large"


def test_submit_needs_every_item_and_photos_for_failed_items(world, cs):
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs, 3))
    phone.submit(inspection_id)
    receipts = phone.push()
    assert receipts[1]["status"] == "rejected"
    reasons = receipts[1]["problem"]["reasons"]
    assert {r["code"] for r in reasons} == {"UNANSWERED"}

    item = failing_yes_no_item(cs, photo_required=True)
    answers = {**passing_answers(cs), item.code: {"value": FAIL}}
    phone.submit(inspection_id, answers=answers)
    receipt = phone.push()[0]
    assert receipt["status"] == "rejected"
    assert receipt["problem"]["reasons"] == [{"code": "PHOTO_REQUIRED", "item": item.code}]

    photo = "ab" * 32
    answers[item.code] = {"value": FAIL, "photos": [photo], "note": "无警示标志"}
    phone.submit(inspection_id, answers=answers)
    receipt = phone.push()[0]
    assert receipt["status"] == "applied"
    assert receipt["missing_photos"] == [photo]
    assert receipt["photos_complete"] is False
    stored = Inspection.objects.get(id=inspection_id)
    assert stored.status == "submitted" and stored.answers[item.code]["outcome"] == "fail"


def test_two_devices_editing_one_draft_conflict(world, client, auth_headers, cs):
    first = world["phone"]
    second = phone_for(client, world["inspector"], auth_headers, device_id="phone-0002", seed=1)
    inspection_id = _new(first, world, passing_answers(cs, 2))
    first.sync()
    second.pull()
    second.local[inspection_id] = dict(second.server["inspections"][inspection_id])
    first.edit(inspection_id, note="first phone")
    second.edit(inspection_id, note="second phone")
    assert first.push()[0]["status"] == "applied"
    receipt = second.push()[0]
    assert receipt["status"] == "conflict"
    assert receipt["reason"] == "STALE_VERSION"
    assert receipt["server_copy"]["note"] == "first phone"
    assert Inspection.objects.get(id=inspection_id).note == "first phone"


def test_a_late_push_cannot_change_a_submitted_inspection(world, cs):
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs))
    phone.submit(inspection_id)
    phone.push()
    phone.local[inspection_id]["version"] = 1  # a stale copy edited offline before submission
    phone.edit(inspection_id, note="after the fact")
    receipt = phone.push()[0]
    assert receipt["status"] == "conflict"
    assert receipt["reason"] == "SUBMITTED_IMMUTABLE"
    assert Inspection.objects.get(id=inspection_id).note is None


def test_a_correction_references_the_submitted_original(world, cs):
    phone = world["phone"]
    original = _new(phone, world, passing_answers(cs))
    phone.submit(original)
    phone.push()
    correction = _new(phone, world, passing_answers(cs))
    phone.outbox[-1]["data"]["corrects"] = original
    assert phone.push()[0]["status"] == "applied"
    assert Inspection.objects.get(id=correction).corrects == original


def test_deleted_draft_arrives_as_a_tombstone(world, cs):
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs, 1))
    phone.sync()
    assert inspection_id in phone.server["inspections"]
    phone.delete(inspection_id)
    phone.sync()
    assert inspection_id not in phone.server["inspections"]
    assert Inspection.objects.get(id=inspection_id).deleted_at is not None


def test_pull_with_a_foreign_cursor_is_a_400_problem(world, client):
    phone = world["phone"]
    response = client.get(
        "/api/v1/sync/pull",
        query_string={"device_id": phone.device_id, "cursor": "bm9wZQ"},
        headers={"Authorization": f"Bearer {phone.token}"},
    )
    assert response.status_code == 400
    assert response.get_json()["type"] == "/problems/invalid-cursor"


def test_unregistered_device_cannot_sync(world, client):
    response = client.get(
        "/api/v1/sync/pull",
        query_string={"device_id": "someone-elses-phone"},
        headers={"Authorization": f"Bearer {world['phone'].token}"},
    )
    assert response.status_code == 422
    assert response.get_json()["reasons"][0]["code"] == "DEVICE_NOT_REGISTERED"


def test_a_change_applied_before_a_crash_is_not_applied_again(world, db, cs):
    """The server died after applying but before writing the receipt: the replay finds the
    mutation id on the inspection and answers `applied` without applying it twice."""
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs, 2))
    phone.push()
    phone.edit(inspection_id, note="once")
    batch = list(phone.outbox)
    phone.push()
    db["sync_receipts"].delete_many({})  # as if the receipts were never written
    phone.outbox = batch
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["applied"]
    assert receipts[0]["version"] == 2
    assert Inspection.objects.get(id=inspection_id).version == 2
    create_again = {
        "mutation_id": "11111111-1111-4111-8111-111111111111",
        "collection": "inspections",
        "op": "create",
        "id": inspection_id,
        "data": {
            "enterprise_id": str(world["enterprise"].id),
            "checklist_code": "CS",
            "checklist_version": 1,
        },
    }
    phone.outbox = [create_again]
    receipt = phone.push()[0]
    assert receipt["status"] == "conflict" and receipt["reason"] == "EXISTS"


def test_a_submit_that_arrives_before_its_create_is_retryable_and_not_remembered(world, client, cs):
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs))
    (create,) = phone.outbox
    phone.submit(inspection_id)
    _, submit = phone.outbox
    headers = {"Authorization": f"Bearer {phone.token}"}

    def send(*mutations):
        body = {"device_id": phone.device_id, "mutations": list(mutations)}
        return client.post("/api/v1/sync/push", json=body, headers=headers).get_json()["receipts"]

    (early,) = send(submit)  # flaky links reorder: the submit's batch lands first
    assert (early["status"], early["retryable"]) == ("rejected", True)
    assert early["problem"]["type"] == "/problems/not-found"
    (bad,) = send({**submit, "mutation_id": "0b7c6c2e-3c8f-4c49-9a41-6c1a2d1e0a0f", "op": "fly"})
    assert (bad["status"], bad["retryable"]) == ("rejected", False)
    assert [r["status"] for r in send(create)] == ["applied"]
    (later,) = send(submit)  # the same mutation id again: applied now, not the old rejection
    assert (later["status"], later["version"]) == ("applied", 2)
    assert Inspection.objects.get(id=inspection_id).status == "submitted"


def test_the_reference_phone_keeps_a_retryable_mutation_for_its_next_push(world, client, cs):
    phone = world["phone"]
    inspection_id = _new(phone, world, passing_answers(cs))
    create = phone.outbox.pop(0)  # the create is still in flight on another connection
    phone.submit(inspection_id)
    assert [r["status"] for r in phone.push()] == ["rejected"]
    assert len(phone.outbox) == 1 and not phone.attention
    phone.outbox.insert(0, create)
    assert [r["status"] for r in phone.push()] == ["applied", "applied"]
    assert not phone.outbox and not phone.attention
