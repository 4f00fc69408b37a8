"""The hazard register: a submitted inspection's failed items become hazards through the outbox
job of the submission, once however often it runs; levels follow the answers' severity;
repeats are linked and counted along `continues`; a correcting record carries its hazards
forward; hazards reach the inspector's and the enterprise's phones; every creation is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.clock import utcnow
from server.jobs.hazards import register_findings
from server.models.hazard import Hazard
from server.services.hazards import register
from server.services.hazards.register import FINDINGS_JOB, finding_id
from tests.audit.helpers import actions, stored
from tests.hazards.helpers import (
    GENERAL,
    MAJOR_TO_CONFIRM,
    PHOTO,
    failing_answers,
    make_firm,
    submit_inspection,
)
from tests.sync.helpers import phone_for


@pytest.fixture
def world(client, auth_headers, published, job_settings):
    return make_firm(client, auth_headers)


def _hazards(db, **query):
    return {h["item_code"]: h for h in db["hazards"].find(query)}


def test_failed_items_become_hazards_through_the_submissions_job_once(world, db, jobs):
    inspection_id = submit_inspection(world, failing_answers(MAJOR_TO_CONFIRM, GENERAL))
    # Staged with the submit, witnessed by it: nothing is lost if Redis is down meanwhile.
    [entry] = db["outbox"].find({"job": FINDINGS_JOB})
    assert entry["args"] == {"inspection_id": inspection_id}
    assert _hazards(db) == {}
    jobs()
    found = _hazards(db)
    assert set(found) == {MAJOR_TO_CONFIRM, GENERAL}
    major, general = found[MAJOR_TO_CONFIRM], found[GENERAL]
    assert (major["level"], major["level_confirmed"], major["severity"]) == (
        "major",
        False,
        "major_to_confirm",
    )
    assert (general["level"], general["level_confirmed"]) == ("general", True)
    assert major["_id"] == finding_id(inspection_id, MAJOR_TO_CONFIRM)
    assert major["state"] == "found" and major["source"] == "inspection"
    assert major["photos"] == [PHOTO] and major["legal_basis"]
    assert "现场未见" in major["description"]
    assert major["inspector_id"] == world["inspector"].id
    assert major["enterprise_id"] == world["firm"].id
    assert major["item_key"] == f"CS:2:{MAJOR_TO_CONFIRM}"
    # The job again (a second delivery, a retry after a crash): nothing is made twice.
    register_findings(inspection_id)
    register_findings(inspection_id)
    assert db["hazards"].count_documents({}) == 2
    jobs()
    chain = str(world["jurisdiction"].id)
    created = [e for e in stored(db, chain) if e["action"] == "hazard.create"]
    assert sorted(e["object"]["id"] for e in created) == sorted(h["_id"] for h in found.values())


def test_a_draft_or_an_all_passing_inspection_makes_no_hazard(world, db, jobs):
    submit_inspection(world, failing_answers())
    jobs()
    assert db["hazards"].count_documents({}) == 0


def test_a_repeat_along_continues_is_linked_to_the_first_hazard_and_counted(world, db, jobs):
    # CS-26 of version 2 continues CS-14 of version 1 (checklists v2).
    first = submit_inspection(world, failing_answers("CS-14", version=1), version=1)
    jobs()
    second = submit_inspection(world, failing_answers(GENERAL))
    third = submit_inspection(world, failing_answers(GENERAL))
    jobs()
    root = db["hazards"].find_one({"_id": finding_id(first, "CS-14")})
    again = db["hazards"].find_one({"_id": finding_id(second, GENERAL)})
    thrice = db["hazards"].find_one({"_id": finding_id(third, GENERAL)})
    assert "CS:1:CS-14" in again["item_lineage"]
    assert again["repeat_of"] == root["_id"] and thrice["repeat_of"] == root["_id"]
    assert sorted(root["repeat_ids"]) == sorted([again["_id"], thrice["_id"]])
    assert root.get("repeat_of") is None
    # The job again counts nothing twice.
    register_findings(third)
    assert len(db["hazards"].find_one({"_id": root["_id"]})["repeat_ids"]) == 2


def test_outside_the_repeat_period_a_finding_is_new(world, db, jobs):
    first = submit_inspection(world, failing_answers(GENERAL))
    jobs()
    db["hazards"].update_many({}, {"$set": {"created_at": utcnow() - timedelta(days=400)}})
    second = submit_inspection(world, failing_answers(GENERAL))
    jobs()
    assert db["hazards"].find_one({"_id": finding_id(second, GENERAL)}).get("repeat_of") is None
    assert db["hazards"].find_one({"_id": finding_id(first, GENERAL)})["repeat_ids"] == []
    # The period is a setting: with a longer one the same finding repeats the first.
    again = register.register_findings(second, now=utcnow(), repeat_window=timedelta(days=3650))
    assert again == [finding_id(second, GENERAL)]  # existing: not re-linked after the fact


def test_a_correction_carries_hazards_forward_and_withdraws_those_it_drops(world, db, jobs):
    original = submit_inspection(world, failing_answers(MAJOR_TO_CONFIRM, GENERAL))
    jobs()
    correction = submit_inspection(world, failing_answers(MAJOR_TO_CONFIRM), corrects=original)
    jobs()
    assert db["hazards"].count_documents({}) == 2  # nothing duplicated
    kept = db["hazards"].find_one({"_id": finding_id(original, MAJOR_TO_CONFIRM)})
    dropped = db["hazards"].find_one({"_id": finding_id(original, GENERAL)})
    assert kept["inspection_ids"] == [original, correction] and kept["state"] == "found"
    assert dropped["state"] == "withdrawn"
    assert (
        dropped["withdrawn_reason"] == f"not found again by the correcting inspection {correction}"
    )
    assert dropped["history"][-1]["role"] == "system"
    jobs()
    assert "hazard.withdraw" in actions(db, str(world["jurisdiction"].id))


def test_hazards_reach_the_inspectors_and_the_firms_phones_only(
    world, db, jobs, client, auth_headers
):
    inspection_id = submit_inspection(world, failing_answers(GENERAL))
    jobs()
    hazard_id = finding_id(inspection_id, GENERAL)
    inspector_phone = world["phone"]
    inspector_phone.pull()
    assert hazard_id in inspector_phone.server["hazards"]
    manager = phone_for(client, world["manager"], auth_headers, device_id="manager-phone-1")
    manager.pull()
    copy = manager.server["hazards"][hazard_id]
    assert copy["state"] == "found" and "location" not in copy.get("place", {})
    other = make_firm(client, auth_headers)
    stranger = phone_for(client, other["manager"], auth_headers, device_id="manager-phone-2")
    stranger.pull()
    assert hazard_id not in stranger.server.get("hazards", {})
    assert Hazard.objects.for_actor(other["inspector"].actor()).count() == 0
