"""Violations of confined-space entry: denied entries (no permit, a failed gas test, no
attendant, no ventilation), the attendant leaving, an overstay, an alarm left unacknowledged;
visible to the manager and the jurisdiction's supervisors, audited, and — at a firm with H2S/CO
poisoning risk, for no approval, no attendant, no ventilation or test — a candidate major in the
hazard register, made once however often the job runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.jobs.hazards import register_confined_space_violation
from server.jobs.spaces import record_scan
from server.models.alarm import Alarm
from server.models.audit_event import AuditEvent
from server.models.enterprise import Enterprise
from server.models.entry import EntryEvent
from server.models.hazard import Hazard
from server.models.outbox_entry import OutboxEntry
from server.models.violation import Violation
from server.services import timers
from server.services.spaces import scan_log, violations
from server.services.spaces.violations import HAZARD_JOB
from tests.spaces.site import READINGS, make_site

#: The register's job reads the repeat period from the worker's settings.
pytestmark = pytest.mark.usefixtures("job_settings")

#: A space that may hold H2S: its firm's confined-space work carries poisoning risk.
TOXIC = {"gases": ["H2S", "CO"]}


@pytest.fixture
def toxic(client, world, auth_headers):
    site = make_site(client, world, auth_headers, **TOXIC)
    assert Enterprise.objects.get(id=world["A"].id).poisoning_risk is True
    return site


@pytest.fixture
def plain(client, world, auth_headers):
    site = make_site(client, world, auth_headers)
    assert Enterprise.objects.get(id=world["A"].id).poisoning_risk is not True
    return site


def _only(kind: str) -> Violation:
    (found,) = Violation.objects(kind=kind)
    return found


def _listed(site, who, **query):
    response = site.client.get("/api/v1/violations", query_string=query, headers=site.headers[who])
    assert response.status_code == 200, response.get_json()
    return [v["id"] for v in response.get_json()]


def test_an_entry_without_a_permit_at_a_poisoning_risk_firm_is_a_candidate_major(toxic, jobs):
    denied = toxic.scan("enter").get_json()
    assert not denied["allowed"]
    assert Violation.objects.count() == 0  # the outbox's job records it
    jobs()
    violation = _only("no_permit")
    assert str(violation.entry_event_id) == denied["event_id"]
    assert violation.worker_id == toxic.users["worker"].id
    assert "NO_PERMIT" in violation.codes and violation.message["zh-CN"]
    assert (violation.criterion, violation.poisoning_risk, violation.hazard_candidate) == (
        "no_approval",
        True,
        True,
    )
    jobs()
    (hazard,) = Hazard.objects()
    assert (hazard.source, hazard.level, hazard.level_confirmed) == (
        "confined_space",
        "major",
        False,
    )
    assert hazard.violation_id == violation.id and hazard.state == "found"
    assert hazard.enterprise_id == toxic.world["A"].id
    assert hazard.place == {"space_id": toxic.space["id"]}
    assert "M10 Art.13(2) [V]" in hazard.legal_basis and "未落实作业审批" in hazard.description
    assert Violation.objects.get(id=violation.id).hazard_id == hazard.id
    # Audited, in the jurisdiction's chain.
    (audited,) = AuditEvent.objects(action="violation.record")
    assert audited.object["id"] == violation.id


def test_the_same_firm_without_poisoning_risk_records_the_violation_and_no_hazard(plain, jobs):
    assert not plain.scan("enter").get_json()["allowed"]
    jobs()
    violation = _only("no_permit")
    assert violation.criterion == "no_approval" and violation.hazard_candidate is False
    jobs()
    assert Hazard.objects.count() == 0
    assert OutboxEntry.objects(job=HAZARD_JOB).count() == 0


def test_a_retried_path_and_a_retried_job_make_one_violation_and_one_hazard(toxic, jobs):
    toxic.scan("enter")
    jobs()
    violation = _only("no_permit")
    # The scan's job again (its runner died after it), and the violation's step again.
    (entry,) = OutboxEntry._get_collection().find({"job": scan_log.SCAN_JOB})
    record_scan(**entry["args"], entry_id=entry["_id"])
    event = EntryEvent._get_collection().find_one({"_id": violation.entry_event_id})
    assert EntryEvent.objects.count() == 1
    violations.on_entry_event(event, now=event["at"])
    jobs()
    first = register_confined_space_violation(violation.id)
    assert register_confined_space_violation(violation.id) == first
    jobs()
    assert Violation.objects.count() == 1
    assert OutboxEntry.objects(job=HAZARD_JOB).count() == 1
    assert [h.id for h in Hazard.objects()] == [first]
    assert AuditEvent.objects(action="violation.record").count() == 1
    assert AuditEvent.objects(action="hazard.create").count() == 1


def test_repeated_denials_for_one_reason_at_one_space_are_one_candidate_counted(toxic, jobs):
    toxic.scan("enter")
    jobs()
    toxic.scan("enter", who="contractor")
    toxic.scan("enter")
    jobs()
    found = list(Violation.objects(kind="no_permit").order_by("at"))
    assert len(found) == 3  # every denied scan is a violation
    (hazard,) = Hazard.objects()
    first, *later = found
    assert hazard.violation_id == first.id
    assert [v.repeat_of for v in later] == [first.id, first.id]
    assert {v.hazard_id for v in found} == {hazard.id}
    first.reload()
    assert (first.repeats, sorted(first.repeat_ids)) == (2, sorted(v.id for v in later))
    assert first.last_seen_at == later[-1].at
    # A retried job counts nothing twice.
    assert register_confined_space_violation(later[0].id) == hazard.id
    assert Violation.objects.get(id=first.id).repeats == 2
    assert AuditEvent.objects(action="violation.repeat").count() == 2


def test_another_criterion_at_the_same_space_is_a_candidate_of_its_own(toxic, jobs):
    toxic.scan("enter")  # no permit: no approval
    jobs()
    toxic.make_permit()
    assert toxic.transition("approve", capacity="principal").status_code == 200
    toxic.scan("enter")  # approved, no attendant checked in
    jobs()
    assert sorted(Violation.objects(hazard_candidate=True).distinct("criterion")) == [
        "no_approval",
        "no_attendant",
    ]
    assert Hazard.objects.count() == 2
    assert Violation.objects(repeat_of__ne=None).count() == 0


def test_a_repeat_of_a_candidate_no_longer_open_is_a_candidate_of_its_own(toxic, jobs):
    toxic.scan("enter")
    jobs()
    (first,) = Violation.objects()
    Hazard._get_collection().update_one({"_id": first.hazard_id}, {"$set": {"state": "withdrawn"}})
    toxic.scan("enter")
    jobs()
    assert Violation.objects(kind="no_permit").count() == 2
    assert Hazard.objects.count() == 2
    assert Violation.objects(repeat_of__ne=None).count() == 0


def test_candidates_outside_the_window_are_separate(toxic, jobs):
    toxic.scan("enter")
    jobs()
    window = violations.load_rules().candidate_repeat_window
    (first,) = Violation.objects()
    Violation._get_collection().update_one(
        {"_id": first.id}, {"$set": {"at": first.at - window - timedelta(seconds=1)}}
    )
    toxic.scan("enter")
    jobs()
    assert Hazard.objects.count() == 2


def test_a_candidate_judged_while_another_holds_its_turn_is_retried(toxic, jobs, db):
    toxic.scan("enter")
    # The scan's job records the violation; its candidate hazard is judged here, by hand.
    (entry,) = OutboxEntry._get_collection().find({"job": scan_log.SCAN_JOB})
    record_scan(**entry["args"], entry_id=entry["_id"])
    (violation,) = Violation.objects()
    with violations.candidate_turn(violation.id):
        with pytest.raises(violations.CandidateBusyError):
            register_confined_space_violation(violation.id)
    assert Hazard.objects.count() == 0
    assert register_confined_space_violation(violation.id) is not None


def test_an_entry_while_a_gas_test_failed_is_a_violation_but_no_m10_major(toxic, jobs):
    toxic.ready(readings={**READINGS, "H2S": {"value": 30, "unit": "ppm"}})
    assert not toxic.scan("enter").get_json()["allowed"]
    jobs()
    violation = _only("gas_fail")
    assert "GAS_FAIL" in violation.codes
    assert violation.criterion is None and violation.hazard_candidate is False
    assert Hazard.objects.count() == 0


def test_an_entry_without_an_attendant_is_a_candidate_major(toxic, jobs):
    toxic.ready()
    assert toxic.scan("attendant_check_out", who="attendant").get_json()["allowed"]
    assert not toxic.scan("enter").get_json()["allowed"]
    jobs()
    violation = _only("denied_scan")
    assert "NO_ATTENDANT" in violation.codes and violation.criterion == "no_attendant"
    assert Hazard.objects.get().violation_id == violation.id


def test_an_entry_without_ventilation_is_a_candidate_major(toxic, jobs):
    toxic.make_permit()
    assert toxic.transition("approve", capacity="principal").status_code == 200
    for kind, who in (("briefing", "manager"), ("isolation", "manager")):
        assert toxic.record(kind, who, minutes_ago=30).status_code == 201
    for kind in ("unlock", "ppe", "rescue_kit"):
        assert toxic.record(kind, "attendant", minutes_ago=25).status_code == 201
    test = {"instrument": "MSA ALTAIR 4XR #123", "readings": READINGS}
    assert toxic.record("gas_test", "manager", minutes_ago=5, **test).status_code == 201
    assert toxic.scan("attendant_check_in", who="attendant").get_json()["allowed"]
    assert not toxic.scan("enter").get_json()["allowed"]
    jobs()
    violation = _only("denied_scan")
    assert "NOT_VENTILATED" in violation.codes and violation.criterion == "no_ventilation"
    assert violation.hazard_candidate is True


def test_an_allowed_entry_a_repeated_one_and_a_denied_exit_are_no_violation(toxic, jobs):
    toxic.ready()
    assert toxic.scan("enter").get_json()["allowed"]
    assert not toxic.scan("enter").get_json()["allowed"]  # ALREADY_INSIDE: bookkeeping
    assert toxic.scan("exit").get_json()["allowed"]
    assert not toxic.scan("exit").get_json()["allowed"]  # NOT_INSIDE: no entry scan
    jobs()
    assert Violation.objects.count() == 0
    assert OutboxEntry.objects(job=violations.ENTRY_JOB).count() == 0
    assert EntryEvent.objects(action__in=["enter", "exit"]).count() == 4  # an event each


def test_the_attendant_leaving_with_entrants_inside_is_a_candidate_major(toxic, jobs):
    toxic.ready()
    assert toxic.scan("enter").get_json()["allowed"]
    assert toxic.scan("attendant_check_out", who="attendant").get_json()["allowed"]
    (alarm,) = Alarm.objects()
    violation = _only("attendant_left")
    assert violation.alarm_id == alarm.id and violation.permit_id == toxic.permit["id"]
    assert violation.criterion == "no_attendant" and violation.hazard_candidate
    jobs()
    assert Hazard.objects.get().violation_id == violation.id


def test_an_overstay_is_a_violation(plain, jobs):
    plain.ready()
    assert plain.scan("enter").get_json()["allowed"]
    end = datetime.fromisoformat(plain.permit["valid_to"].replace("Z", "+00:00"))
    timers.fire_due(now=end + timedelta(seconds=1))
    jobs()
    violation = _only("overstay")
    assert violation.alarm_id == Alarm.objects.get().id and violation.criterion is None


def _raise_attendant_left(site) -> Alarm:
    site.ready()
    assert site.scan("enter").get_json()["allowed"]
    assert site.scan("attendant_check_out", who="attendant").get_json()["allowed"]
    return Alarm.objects.get()


def test_an_alarm_nobody_closed_in_time_is_a_violation(plain, jobs):
    alarm = _raise_attendant_left(plain)
    within = violations.load_rules().acknowledge_within
    # The worker inside was told (recorded), but that does not close it.
    plain.client.post(
        f"/api/v1/alarms/{alarm.id}/acknowledgements", headers=plain.headers["worker"]
    )
    assert timers.fire_due(now=alarm.raised_at + within - timedelta(seconds=1)) == 0
    assert timers.fire_due(now=alarm.raised_at + within + timedelta(seconds=1)) == 1
    jobs()
    violation = _only("alarm_unacknowledged")
    assert violation.alarm_id == alarm.id


def test_an_alarm_closed_in_time_is_no_violation(plain, jobs):
    alarm = _raise_attendant_left(plain)
    url = f"/api/v1/alarms/{alarm.id}/acknowledgements"
    assert plain.client.post(url, headers=plain.headers["attendant"]).status_code == 200
    within = violations.load_rules().acknowledge_within
    assert timers.fire_due(now=alarm.raised_at + within + timedelta(seconds=1)) == 1
    jobs()
    assert Violation.objects(kind="alarm_unacknowledged").count() == 0


def test_the_manager_and_the_supervisors_see_violations_with_filters(toxic, jobs):
    toxic.scan("enter")
    toxic.ready()
    toxic.scan("attendant_check_out", who="attendant")
    toxic.scan("enter")
    jobs()
    everything = {v.id for v in Violation.objects()}
    assert len(everything) == 2
    for who in ("manager", "supervisor", "admin"):
        assert set(_listed(toxic, who)) == everything
    for who in ("supervisor2", "manager_b", "worker", "inspector"):
        assert _listed(toxic, who) == []
    assert _listed(toxic, "supervisor", kind="no_permit") == [_only("no_permit").id]
    assert set(_listed(toxic, "manager", hazard_candidate="true")) == everything
    assert _listed(toxic, "manager", since="2999-01-01T00:00:00Z") == []
    bad = toxic.client.get("/api/v1/violations?kind=speeding", headers=toxic.headers["manager"])
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
