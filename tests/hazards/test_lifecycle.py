"""The lifecycle table as data and its transitions: a general hazard from found to closed, a
major through confirmation, plan, listing, a supervisor's close on application and delisting;
every refusal with its reasons; extensions within the last 10 days; deadlines at 24:00 in
Asia/Shanghai; every transition audited."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from server.errors import Forbidden, NotFound, RuleViolation
from server.services.hazards import lifecycle, states
from server.services.hazards.register import finding_id
from tests.audit.helpers import actions
from tests.hazards.helpers import (
    GENERAL,
    MAJOR_TO_CONFIRM,
    PHOTO,
    failing_answers,
    make_firm,
    submit_inspection,
)

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
#: Where the inspection found its hazards; a re-inspection there is at their place.
HERE = {"longitude": 121.4737, "latitude": 31.2304}
AT_PLACE = {"location": HERE, "photos": [PHOTO]}
PLAN = {
    "measures": "增设通风设备并设专人监护",
    "funds": "5万元",
    "deadline": date(2026, 12, 20),
    "responsible_person": "张三",
    "contingency": "现场应急救援预案",
}


@pytest.fixture
def world(client, auth_headers, published, job_settings, jobs):
    found = make_firm(client, auth_headers)
    inspection_id = submit_inspection(
        found, failing_answers(MAJOR_TO_CONFIRM, GENERAL), location={**HERE, "accuracy_m": 5}
    )
    jobs()
    found["major"] = finding_id(inspection_id, MAJOR_TO_CONFIRM)
    found["general"] = finding_id(inspection_id, GENERAL)
    return found


def _as(world, who):
    return world[who].actor()


def test_the_table_is_whole():
    reachable = {states.FOUND} | {t.target for t in states.TRANSITIONS if t.target}
    assert reachable == set(states.STATES)
    for t in states.TRANSITIONS:
        assert set(t.sources) <= set(states.STATES), t.action
        assert all(rule in states.RULES for rule in t.rules), t.action
        assert t.who and t.basis, t.action
    assert set(states.ESCALATIONS) == {
        "remind",
        "supervise",
        "notify",
        "summon",
        "letter",
        "expose",
    }


def test_a_deadline_ends_at_midnight_in_shanghai():
    assert lifecycle.end_of_day(date(2026, 12, 31)) == datetime(2026, 12, 31, 16, tzinfo=UTC)


def test_a_general_hazard_from_found_to_closed(world, db, jobs):
    hazard = world["general"]

    def take(who, action, **params):
        return lifecycle.take(_as(world, who), hazard, action, params, now=NOW)

    issued = take("inspector", "issue", deadline=date(2026, 12, 15))
    assert issued["state"] == "issued"
    assert issued["deadline"] == datetime(2026, 12, 15, 16, tzinfo=UTC)
    assert take("manager", "acknowledge")["state"] == "in_progress"
    reported = take("manager", "report_rectified", photos=[PHOTO], note="已设置警示标志")
    assert reported["state"] == "reported"
    assert take("inspector", "start_reinspection")["state"] == "reinspection"
    closed = take("inspector", "close", note="已整改合格", reinspection=AT_PLACE)
    assert closed["state"] == "closed" and closed["version"] == 6
    assert [h["action"] for h in closed["history"]] == [
        "found",
        "issue",
        "acknowledge",
        "report_rectified",
        "start_reinspection",
        "close",
    ]
    assert closed["reinspection"]["by"] == world["inspector"].id
    assert closed["history"][3]["photos"] == [PHOTO]
    jobs()
    chain = actions(db, str(world["jurisdiction"].id))
    for action in ("issue", "acknowledge", "report_rectified", "start_reinspection", "close"):
        assert chain.count(f"hazard.{action}") == 1, action


def test_a_major_is_confirmed_planned_listed_closed_on_application_and_delisted(world):
    hazard = world["major"]

    def take(who, action, **params):
        return lifecycle.take(_as(world, who), hazard, action, params, now=NOW)

    with pytest.raises(RuleViolation) as refused:
        take("supervisor", "list")
    assert refused.value.reasons[0]["code"] == "CONFIRMED_MAJOR"
    assert take("supervisor", "confirm_level")["level_confirmed"] is True
    listed = take("supervisor", "list")
    assert listed["listing"] == "listed" and listed["listed_at"] is not None
    take("inspector", "issue", deadline=date(2026, 12, 31))
    with pytest.raises(RuleViolation) as refused:
        take("manager", "acknowledge", plan={"measures": "通风"})
    assert refused.value.reasons == [
        {
            "code": "PLAN_IF_MAJOR",
            "detail": "a major hazard's plan must name funds, deadline, responsible_person, "
            "contingency (五落实)",
        }
    ]
    planned = take("manager", "acknowledge", plan=PLAN)
    assert planned["plan"]["responsible_person"] == "张三"
    take("manager", "report_rectified", photos=[PHOTO], note="已整改")
    take("inspector", "start_reinspection")
    with pytest.raises(RuleViolation) as refused:
        take("inspector", "close", note="合格")
    assert refused.value.reasons[0]["detail"] == "a major hazard is closed by a supervisor"
    with pytest.raises(RuleViolation) as refused:
        take("supervisor", "close", note="合格")
    assert "written application" in refused.value.reasons[0]["detail"]
    take("inspector", "record_reinspection", reinspection=AT_PLACE)
    closed = take("supervisor", "close", note="合格", application="销号申请书")
    assert closed["state"] == "closed"
    delisted = take("supervisor", "delist")
    assert delisted["listing"] == "delisted" and delisted["state"] == "closed"


def test_refusals_name_the_role_the_state_and_what_is_missing(world, client, auth_headers):
    hazard = world["general"]
    with pytest.raises(Forbidden):
        lifecycle.take(
            _as(world, "manager"), hazard, "issue", {"deadline": date(2026, 12, 9)}, now=NOW
        )
    with pytest.raises(RuleViolation) as refused:
        lifecycle.take(_as(world, "manager"), hazard, "acknowledge", {}, now=NOW)
    assert refused.value.reasons[0]["code"] == "WRONG_STATE"
    with pytest.raises(RuleViolation) as refused:
        lifecycle.take(_as(world, "inspector"), hazard, "rectify_on_site", {}, now=NOW)
    assert refused.value.reasons == [
        {"code": "REQUIRED", "field": "photos"},
        {"code": "REQUIRED", "field": "note"},
    ]
    with pytest.raises(RuleViolation) as refused:
        lifecycle.take(
            _as(world, "inspector"),
            world["major"],
            "rectify_on_site",
            {"photos": [PHOTO], "note": "x"},
            now=NOW,
        )
    assert refused.value.reasons[0]["code"] == "GENERAL_ONLY"
    other = make_firm(client, auth_headers)
    with pytest.raises(NotFound):
        lifecycle.take(other["supervisor"].actor(), hazard, "withdraw", {"reason": "x"}, now=NOW)
    with pytest.raises(NotFound):
        lifecycle.take(other["manager"].actor(), hazard, "acknowledge", {}, now=NOW)


def test_an_extension_is_asked_within_the_last_ten_days_and_answered_by_a_supervisor(world):
    hazard = world["general"]
    lifecycle.take(
        _as(world, "inspector"), hazard, "issue", {"deadline": date(2026, 12, 31)}, now=NOW
    )
    lifecycle.take(_as(world, "manager"), hazard, "acknowledge", {}, now=NOW)
    ask = {"reason": "设备到货延迟", "deadline": date(2027, 1, 20)}
    # The deadline ends 2026-12-31T16:00Z; the window opens ten days before it.
    early = datetime(2026, 12, 21, 15, 59, tzinfo=UTC)
    with pytest.raises(RuleViolation) as refused:
        lifecycle.take(_as(world, "manager"), hazard, "request_extension", ask, now=early)
    assert refused.value.reasons[0]["code"] == "WITHIN_EXTENSION_WINDOW"
    in_time = datetime(2026, 12, 21, 16, 0, tzinfo=UTC)
    asked = lifecycle.take(_as(world, "manager"), hazard, "request_extension", ask, now=in_time)
    assert asked["state"] == "extension_requested"
    with pytest.raises(Forbidden):
        lifecycle.take(
            _as(world, "inspector"),
            hazard,
            "grant_extension",
            {"deadline": date(2027, 1, 20)},
            now=in_time,
        )
    granted = lifecycle.take(
        _as(world, "supervisor"),
        hazard,
        "grant_extension",
        {"deadline": date(2027, 1, 20)},
        now=in_time,
    )
    assert granted["state"] == "in_progress"
    assert granted["deadline"] == datetime(2027, 1, 20, 16, tzinfo=UTC)


def test_overdue_by_the_system_escalation_failure_and_both_penalties(world):
    hazard = world["general"]
    lifecycle.take(
        _as(world, "inspector"), hazard, "issue", {"deadline": date(2026, 12, 5)}, now=NOW
    )
    with pytest.raises(Forbidden):
        lifecycle.take(_as(world, "supervisor"), hazard, "mark_overdue", {}, now=NOW)
    assert lifecycle.take(None, hazard, "mark_overdue", {}, now=NOW)["state"] == "overdue"
    escalated = lifecycle.take(
        _as(world, "supervisor"),
        hazard,
        "escalate",
        {"escalation": "summon", "note": "约谈主要负责人"},
        now=NOW,
    )
    assert escalated["escalations"][0]["kind"] == "summon" and escalated["state"] == "overdue"
    lifecycle.take(_as(world, "inspector"), hazard, "start_reinspection", {}, now=NOW)
    lifecycle.take(_as(world, "inspector"), hazard, "fail", {"reason": "未整改"}, now=NOW)
    with pytest.raises(RuleViolation) as refused:
        lifecycle.take(
            _as(world, "supervisor"),
            hazard,
            "penalize",
            {"penalty": {"firm": "罚款2万元"}},
            now=NOW,
        )
    assert refused.value.reasons[0]["code"] == "BOTH_PENALIZED"
    penalized = lifecycle.take(
        _as(world, "supervisor"),
        hazard,
        "penalize",
        {"penalty": {"firm": "罚款2万元", "persons": ["主要负责人罚款1万元"]}},
        now=NOW,
    )
    assert penalized["state"] == "penalty"


def test_a_supervisor_overrides_the_level_with_a_reason(world):
    hazard = world["general"]
    with pytest.raises(Forbidden):
        lifecycle.take(
            _as(world, "inspector"), hazard, "set_level", {"level": "major", "reason": "x"}, now=NOW
        )
    with pytest.raises(RuleViolation):
        lifecycle.take(_as(world, "supervisor"), hazard, "set_level", {"level": "major"}, now=NOW)
    changed = lifecycle.take(
        _as(world, "supervisor"),
        hazard,
        "set_level",
        {"level": "major", "reason": "涉及有毒有害气体，按重大隐患判定"},
        now=NOW,
    )
    assert (changed["level"], changed["level_confirmed"]) == ("major", True)
    assert changed["history"][-1]["level_before"] == "general"


def test_transitions_over_rest_name_the_version_they_decided_on(world, client, auth_headers):
    url = f"/api/v1/hazards/{world['general']}"
    inspector = auth_headers(world["inspector"])
    read = client.get(url, headers=inspector)
    assert read.status_code == 200 and read.get_json()["state"] == "found"
    body = {"action": "issue", "deadline": "2027-01-15"}
    missing = client.post(f"{url}/transitions", json=body, headers=inspector)
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == [
        {"in": "json", "field": "version", "messages": ["Missing data for required field."]}
    ]
    done = client.post(f"{url}/transitions", json={**body, "version": 1}, headers=inspector)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["deadline"] == "2027-01-15T16:00:00.000Z"
    assert done.get_json()["version"] == 2
    stale = client.post(
        f"{url}/transitions",
        json={"action": "withdraw", "reason": "x", "version": 1},
        headers=auth_headers(world["supervisor"]),
    )
    assert stale.status_code == 409
    assert stale.get_json()["detail"] == f"hazard {world['general']} changed since version 1"
    manager = auth_headers(world["manager"])
    refused = client.post(
        f"{url}/transitions", json={"action": "close", "note": "x", "version": 2}, headers=manager
    )
    assert refused.status_code == 403
    assert refused.get_json()["type"] == "/problems/forbidden"
    wrong = client.post(
        f"{url}/transitions",
        json={"action": "report_rectified", "version": 2, "photos": [PHOTO], "note": "已整改"},
        headers=manager,
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["reasons"] == [
        {
            "code": "WRONG_STATE",
            "state": "issued",
            "detail": "report_rectified is taken from in_progress, interim_measures, overdue",
        }
    ]
    table = client.get("/api/v1/hazards/transitions", headers=manager).get_json()
    assert {row["action"] for row in table} == set(states.ACTIONS)
    assert next(r for r in table if r["action"] == "issue")["from"] == ["found"]


def test_lists_and_reads_are_scoped(world, client, auth_headers):
    listed = client.get("/api/v1/hazards?level=major", headers=auth_headers(world["manager"]))
    assert [h["id"] for h in listed.get_json()] == [world["major"]]
    other = make_firm(client, auth_headers)
    for who in ("manager", "inspector", "supervisor"):
        headers = auth_headers(other[who])
        assert client.get("/api/v1/hazards", headers=headers).get_json() == []
        missing = client.get(f"/api/v1/hazards/{world['major']}", headers=headers)
        assert missing.status_code == 404
    unknown = client.get(f"/api/v1/hazards/{uuid.uuid4()}", headers=auth_headers(world["manager"]))
    assert unknown.status_code == 404


def test_hazards_recorded_by_hand(world, client, auth_headers, db):
    body = {
        "enterprise_id": str(world["firm"].id),
        "description": "配电箱未上锁",
        "level": "major",
        "place": {"text": "二号车间"},
    }
    by_inspector = client.post(
        "/api/v1/hazards", json=body, headers=auth_headers(world["inspector"])
    )
    assert by_inspector.status_code == 201, by_inspector.get_json()
    made = by_inspector.get_json()
    assert (made["source"], made["level"], made["level_confirmed"]) == ("manual", "major", False)
    assert made["inspector_id"] == str(world["inspector"].id)
    by_supervisor = client.post(
        "/api/v1/hazards", json=body, headers=auth_headers(world["supervisor"])
    )
    assert by_supervisor.get_json()["level_confirmed"] is True
    refused = client.post("/api/v1/hazards", json=body, headers=auth_headers(world["manager"]))
    assert refused.status_code == 403
    other = make_firm(client, auth_headers)
    elsewhere = client.post("/api/v1/hazards", json=body, headers=auth_headers(other["inspector"]))
    assert elsewhere.status_code == 404


def test_photos_link_to_a_hazard_the_uploader_may_see(world, client, auth_headers):
    from media import links

    target = links.registry.resolve(_as(world, "manager"), "hazard", world["major"])
    assert target is not None and target.enterprise_id == world["firm"].id
    other = make_firm(client, auth_headers)
    assert links.registry.resolve(other["manager"].actor(), "hazard", world["major"]) is None
