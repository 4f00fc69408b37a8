"""A hazard's timers on the platform's timers, under an injected clock (the tick's `now`): each
fires at its instant (a millisecond before: nothing; at it: once; again: nothing), is armed
again when the deadline moves and canceled when the state leaves its clock; reminders, overdue
(a confirmed major listed, with its record and publication day), the re-inspection due after a
report or a deadline, and an extension request answered within 5 days or escalated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from server.errors import RuleViolation
from server.models.timer import CANCELED, SCHEDULED
from server.services import notifications, timers
from server.services.hazards import escalation, lifecycle
from server.services.hazards.register import finding_id
from server.services.hazards.timings import load
from tests.hazards.helpers import (
    GENERAL,
    MAJOR_TO_CONFIRM,
    PHOTO,
    failing_answers,
    make_firm,
    submit_inspection,
)
from tests.sync.helpers import phone_for

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
#: 2026-12-15 ends at 24:00 in Shanghai.
DEADLINE = datetime(2026, 12, 15, 16, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)
PLAN = {
    "measures": "增设通风设备并设专人监护",
    "funds": "5万元",
    "deadline": date(2026, 12, 14),
    "responsible_person": "张三",
    "contingency": "现场应急救援预案",
}


@pytest.fixture
def world(client, auth_headers, published, job_settings, jobs):
    found = make_firm(client, auth_headers)
    inspection_id = submit_inspection(found, failing_answers(MAJOR_TO_CONFIRM, GENERAL))
    jobs()
    found["major"] = finding_id(inspection_id, MAJOR_TO_CONFIRM)
    found["general"] = finding_id(inspection_id, GENERAL)
    return found


def _take(world, who, hazard, action, *, now=NOW, **params):
    actor = world[who].actor() if who else None
    return lifecycle.take(actor, world[hazard], action, params, now=now)


def _told(world, who) -> list[tuple[str, str]]:
    return [(n["kind"], n["text_en"]) for n in notifications.of(world[who].id)]


def _tick(jobs, at: datetime) -> int:
    fired = timers.fire_due(now=at)
    jobs()
    return fired


def _issued(world, hazard="general", deadline=date(2026, 12, 15)):
    _take(world, "inspector", hazard, "issue", deadline=deadline)
    _take(world, "manager", hazard, "acknowledge", **({"plan": PLAN} if hazard == "major" else {}))


def test_the_clocks_are_data_with_their_sources():
    clocks = load().clocks
    assert set(clocks) == {
        "rectification",
        "reinspection_after_report",
        "reinspection_after_deadline",
        "extension_answer",
    }
    assert all("15号令 Art.17" in c.source for c in clocks.values())
    assert clocks["reinspection_after_report"].days == 10
    assert clocks["extension_answer"].days == 5
    assert load().extension_window == timedelta(days=10)


def test_a_reminder_before_the_deadline_then_overdue_at_it_each_once(world, db, jobs):
    _issued(world)
    remind_at = DEADLINE - timedelta(days=3)
    assert _tick(jobs, remind_at - MS) == 0
    assert _told(world, "manager") == []
    assert _tick(jobs, remind_at) == 1
    reminder = ("reminder", "the rectification deadline ends 2026-12-15")
    assert _told(world, "manager") == [reminder]
    assert _told(world, "inspector") == [reminder]
    assert _told(world, "supervisor") == []
    assert _tick(jobs, remind_at + timedelta(hours=1)) == 0
    assert len(_told(world, "manager")) == 1

    assert _tick(jobs, DEADLINE - MS) == 0
    assert lifecycle.read(world["supervisor"].actor(), world["general"])["state"] == "in_progress"
    assert _tick(jobs, DEADLINE) == 1
    hazard = lifecycle.read(world["supervisor"].actor(), world["general"])
    assert hazard["state"] == "overdue"
    assert hazard["history"][-1] | {"at": None} == {
        "action": "mark_overdue",
        "from": "in_progress",
        "to": "overdue",
        "by": None,
        "role": "system",
        "at": None,
    }
    assert hazard["history"][-1]["at"] >= DEADLINE
    assert _told(world, "supervisor") == [("overdue", "the hazard is overdue")]
    assert hazard["listing"] == "none"  # a general hazard is not listed
    assert _tick(jobs, DEADLINE + timedelta(days=1)) == 0
    assert len(_told(world, "supervisor")) == 1

    # Overdue: the re-inspection is due within 10 days of the deadline (2026-12-25, 24:00).
    due = DEADLINE + timedelta(days=10)
    assert _tick(jobs, due - timedelta(days=2)) == 1  # the inspector is reminded
    assert _told(world, "inspector")[-1] == ("reminder", "re-inspect by 2026-12-25")
    assert _tick(jobs, due - MS) == 0
    assert _tick(jobs, due) == 1
    assert _told(world, "supervisor")[-1] == (
        "escalation",
        "the re-inspection was due 2026-12-25 and was not started",
    )
    assert _tick(jobs, due + timedelta(days=30)) == 0
    assert db["outbox"].count_documents({"job": "hazards.timer"}) == 4


def test_a_report_cancels_the_deadline_and_starts_the_reinspection_clock(world, db, jobs):
    _issued(world)
    reported_at = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)  # 11:00 on 2026-12-10 in Shanghai
    _take(
        world,
        "manager",
        "general",
        "report_rectified",
        now=reported_at,
        photos=[PHOTO],
        note="已整改",
    )
    states = {t["_id"].split(":", 2)[2]: t["state"] for t in db["timers"].find()}
    assert states["rectification:2026-12-15T16:00:00.000Z:due"] == CANCELED
    assert states["rectification:2026-12-15T16:00:00.000Z:remind-3d"] == CANCELED
    assert states["reinspection_after_report:2026-12-10T03:00:00.000Z:due"] == SCHEDULED
    assert _tick(jobs, DEADLINE + timedelta(days=1)) == 0
    assert lifecycle.read(world["supervisor"].actor(), world["general"])["state"] == "reported"
    # Due within 10 days of the report: by 2026-12-20, 24:00 in Shanghai.
    due = datetime(2026, 12, 20, 16, 0, tzinfo=UTC)
    assert _tick(jobs, due - MS) == 1  # the reminder two days before, nothing else
    assert _told(world, "supervisor") == []
    assert _tick(jobs, due) == 1
    assert _told(world, "supervisor") == [
        ("escalation", "the re-inspection was due 2026-12-20 and was not started")
    ]
    assert _tick(jobs, due) == 0


def test_a_reinspection_in_time_stops_its_clock(world, db, jobs):
    _issued(world)
    _take(world, "manager", "general", "report_rectified", photos=[PHOTO], note="已整改")
    _take(world, "inspector", "general", "start_reinspection")
    assert _tick(jobs, NOW + timedelta(days=60)) == 0
    assert _told(world, "supervisor") == []
    assert db["timers"].count_documents({"state": SCHEDULED}) == 0


def test_a_new_deadline_arms_new_timers_and_the_old_ones_never_fire(world, db, jobs):
    _issued(world, deadline=date(2026, 12, 31))
    asked_at = datetime(2026, 12, 25, 2, 0, tzinfo=UTC)
    ask = {"reason": "设备到货延迟", "deadline": date(2027, 1, 20)}
    _take(world, "manager", "general", "request_extension", now=asked_at, **ask)
    answer_keys = [t["_id"] for t in db["timers"].find() if ":extension_answer:" in t["_id"]]
    assert len(answer_keys) == 2
    _take(
        world, "supervisor", "general", "grant_extension", now=asked_at, deadline=date(2027, 1, 20)
    )
    armed = {t["_id"].split(":", 2)[2]: t["state"] for t in db["timers"].find()}
    assert armed["rectification:2026-12-31T16:00:00.000Z:due"] == CANCELED
    assert armed["rectification:2027-01-20T16:00:00.000Z:due"] == SCHEDULED
    assert all(db["timers"].find_one({"_id": k})["state"] == CANCELED for k in answer_keys)
    old_deadline = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert _tick(jobs, old_deadline) == 0
    assert lifecycle.read(world["supervisor"].actor(), world["general"])["state"] == "in_progress"
    new_deadline = datetime(2027, 1, 20, 16, 0, tzinfo=UTC)
    assert _tick(jobs, new_deadline - MS) == 1  # the reminder of the new deadline
    assert _tick(jobs, new_deadline) == 1
    assert lifecycle.read(world["supervisor"].actor(), world["general"])["state"] == "overdue"


def test_an_extension_request_unanswered_in_five_days_is_escalated(world, db, jobs):
    _issued(world, deadline=date(2026, 12, 31))
    # The window opens 10 days before the deadline's end (2027-01-01 00:00 in Shanghai).
    ask = {"reason": "设备到货延迟", "deadline": date(2027, 1, 20)}
    with pytest.raises(RuleViolation) as early:
        _take(
            world,
            "manager",
            "general",
            "request_extension",
            now=datetime(2026, 12, 21, 15, 59, 59, 999000, tzinfo=UTC),
            **ask,
        )
    assert early.value.reasons[0]["code"] == "WITHIN_EXTENSION_WINDOW"
    asked_at = datetime(2026, 12, 21, 16, 0, tzinfo=UTC)  # 2026-12-22 00:00 in Shanghai
    _take(world, "manager", "general", "request_extension", now=asked_at, **ask)
    # Answered within 5 days: by 2026-12-27, 24:00 in Shanghai.
    due = datetime(2026, 12, 27, 16, 0, tzinfo=UTC)
    assert _tick(jobs, due - timedelta(days=1) - MS) == 0
    assert _tick(jobs, due - timedelta(days=1)) == 1
    assert _told(world, "supervisor") == [("reminder", "answer the extension by 2026-12-27")]
    assert _tick(jobs, due - MS) == 0
    assert _tick(jobs, due) == 1
    assert _told(world, "supervisor")[-1] == (
        "escalation",
        "the extension request was due an answer by 2026-12-27",
    )
    assert _tick(jobs, due + timedelta(hours=1)) == 0
    # Still unanswered at the deadline: overdue as any other (after its own reminder).
    assert _tick(jobs, datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == 2
    assert lifecycle.read(world["supervisor"].actor(), world["general"])["state"] == "overdue"


def test_an_overdue_confirmed_major_is_listed_with_its_record_and_publication_day(world, db, jobs):
    _take(world, "supervisor", "major", "confirm_level")
    _issued(world, "major")
    assert _tick(jobs, DEADLINE) == 2  # the reminder three days before, and the deadline
    hazard = lifecycle.read(world["supervisor"].actor(), world["major"])
    assert (hazard["state"], hazard["listing"]) == ("overdue", "listed")
    assert [h["action"] for h in hazard["history"]][-2:] == ["mark_overdue", "list"]
    listing = db["hazard_listings"].find_one({"_id": world["major"]})
    assert listing["reason"] == "overdue" and listing["listed_by"] is None
    assert listing["listed_at"].replace(tzinfo=UTC) >= DEADLINE
    # Listed at 24:00 of 2026-12-15 in Shanghai: published that day, 2026-12-16.
    assert listing["published_on"].date() == date(2026, 12, 16)
    assert _tick(jobs, DEADLINE + timedelta(hours=1)) == 0
    assert db["hazard_listings"].count_documents({}) == 1


def test_an_unconfirmed_major_overdue_is_not_listed(world, jobs):
    _issued(world, "major")
    _tick(jobs, DEADLINE)
    hazard = lifecycle.read(world["supervisor"].actor(), world["major"])
    assert (hazard["state"], hazard["listing"]) == ("overdue", "none")


def test_a_timer_run_again_or_made_stale_does_nothing_more(world, db, jobs):
    _issued(world)
    key = next(t["_id"] for t in db["timers"].find() if t["_id"].endswith(":due"))
    assert escalation.on_timer(world["general"], key, now=DEADLINE) == "overdue"
    # The job run again (a crash after its work): no second transition nor notification.
    assert escalation.on_timer(world["general"], key, now=DEADLINE) == "overdue"
    hazard = lifecycle.read(world["supervisor"].actor(), world["general"])
    assert [h["action"] for h in hazard["history"]].count("mark_overdue") == 1
    assert len(_told(world, "supervisor")) == 1
    _take(world, "manager", "general", "report_rectified", photos=[PHOTO], note="已整改")
    assert escalation.on_timer(world["general"], key, now=DEADLINE) == "stale"


def test_notifications_reach_their_recipients_phones_only(world, client, auth_headers, jobs):
    _issued(world)
    _tick(jobs, DEADLINE - timedelta(days=3))
    manager = phone_for(client, world["manager"], auth_headers, device_id="manager-phone-1")
    manager.pull()
    [copy] = manager.server["notifications"].values()
    assert (copy["kind"], copy["subject_id"]) == ("reminder", world["general"])
    assert copy["text_zh"] == "隐患整改期限将于2026-12-15届满"
    supervisor = phone_for(client, world["supervisor"], auth_headers, device_id="sup-phone-1")
    supervisor.pull()
    assert supervisor.server.get("notifications", {}) == {}
    other = make_firm(client, auth_headers)
    stranger = phone_for(client, other["manager"], auth_headers, device_id="manager-phone-2")
    stranger.pull()
    assert stranger.server.get("notifications", {}) == {}


def test_timers_are_armed_before_the_write_and_a_write_that_never_happened_leaves_them_stale(
    world, db, jobs
):
    current = db["hazards"].find_one({"_id": world["general"]})
    # Decided and armed, never written (a crash before the write, or a race it lost).
    lifecycle.decide(
        world["inspector"].actor(), current, "issue", {"deadline": date(2026, 12, 15)}, now=NOW
    )
    assert db["timers"].count_documents({"state": SCHEDULED}) == 2
    assert _tick(jobs, DEADLINE) == 2
    assert lifecycle.read(world["supervisor"].actor(), world["general"])["state"] == "found"
    assert _told(world, "manager") == [] and _told(world, "supervisor") == []
