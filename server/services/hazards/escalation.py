"""What a hazard's timer does when it fires (server.services.hazards.timers): a reminder before
a due date; at a deadline the hazard is marked overdue, the supervisors are told and a
confirmed major is listed for supervision (挂牌督办); at a due date that passed unanswered (a
re-inspection not started, an extension request not answered) the supervisors are told.

Idempotent per timer: the transitions refuse to happen twice (the state moved on, the hazard is
listed already) and each notification's id derives from the timer's key and its recipient.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from bson import ObjectId

from server.actor import Role
from server.clock import rfc3339
from server.errors import RuleViolation
from server.models.hazard import Hazard, Level
from server.models.user import User
from server.services import notifications
from server.services.hazards import lifecycle, states
from server.services.hazards.timers import REMIND, current
from server.services.hazards.timings import ESCALATE, OVERDUE, Clock, day_of, load

log = logging.getLogger(__name__)

#: A due date at 24:00 names the day before it in a message.
_MS = timedelta(milliseconds=1)

#: The messages, by what happened and which clock (zh-CN, en); `{due}` is the due day.
TEXTS = {
    (REMIND, "rectification"): (
        "隐患整改期限将于{due}届满",
        "the rectification deadline ends {due}",
    ),
    (REMIND, "reinspection_after_report"): ("隐患复查应于{due}前完成", "re-inspect by {due}"),
    (REMIND, "reinspection_after_deadline"): ("隐患复查应于{due}前完成", "re-inspect by {due}"),
    (REMIND, "extension_answer"): ("延期申请应于{due}前答复", "answer the extension by {due}"),
    (OVERDUE, "rectification"): ("隐患已逾期未整改", "the hazard is overdue"),
    (ESCALATE, "reinspection_after_report"): (
        "隐患复查已超过期限（{due}）",
        "the re-inspection was due {due} and was not started",
    ),
    (ESCALATE, "reinspection_after_deadline"): (
        "隐患复查已超过期限（{due}）",
        "the re-inspection was due {due} and was not started",
    ),
    (ESCALATE, "extension_answer"): (
        "延期申请未在期限（{due}）内答复",
        "the extension request was due an answer by {due}",
    ),
}


def on_timer(hazard_id: str, key: str, *, now: datetime) -> str:
    """Do what timer `key` of the hazard stands for; returns what it did (`stale` when the
    hazard no longer needs it)."""
    hazard = Hazard._get_collection().find_one({"_id": hazard_id})
    timer = current(hazard, key)
    if timer is None:
        return "stale"
    # Never before its instant, whatever the clock of the worker that runs it says.
    now = max(now, timer.due_at)
    clock = load().clocks[timer.clock]
    if timer.event == REMIND:
        _tell(hazard, key, clock, clock.remind, "reminder", (REMIND, clock.name), timer, now)
        return "reminded"
    if clock.at_due == OVERDUE:
        return _overdue(hazard, key, clock, timer, now)
    _tell(hazard, key, clock, clock.notify, "escalation", (ESCALATE, clock.name), timer, now)
    return "escalated"


def _overdue(hazard: dict, key: str, clock: Clock, timer, now: datetime) -> str:
    if hazard["state"] in states.BY_ACTION["mark_overdue"].sources:
        try:
            lifecycle.take(None, hazard["_id"], "mark_overdue", {}, now=now)
        except RuleViolation:
            pass  # the firm reported meanwhile: judged again below
        hazard = Hazard._get_collection().find_one({"_id": hazard["_id"]})
        if current(hazard, key) is None:
            return "stale"
    _tell(hazard, key, clock, clock.notify, "overdue", (OVERDUE, clock.name), timer, now)
    confirmed_major = hazard["level"] == Level.MAJOR and hazard.get("level_confirmed", True)
    if load().list_on_overdue and confirmed_major and hazard.get("listing") == "none":
        try:
            lifecycle.take(None, hazard["_id"], "list", {"reason": "overdue"}, now=now)
        except RuleViolation as refused:
            log.info("overdue hazard not listed", extra={"hazard": hazard["_id"], "why": refused})
    return "overdue"


def _tell(hazard, key, clock, who, kind, text_key, timer, now) -> None:
    zh, en = TEXTS[text_key]
    due = day_of(timer.ends - _MS).isoformat()
    notifications.notify(
        key,
        recipients(hazard, who),
        kind=kind,
        subject=("hazards", hazard["_id"]),
        text_zh=zh.format(due=due),
        text_en=en.format(due=due),
        due_at=timer.ends,
        now=now,
    )
    log.info("hazard timer", extra={"hazard": hazard["_id"], "key": key, "at": rfc3339(now)})


def recipients(hazard: dict, who: tuple[str, ...]) -> list[ObjectId]:
    """The users `who` names for this hazard (active ones), inspector first."""
    out: list[ObjectId] = []
    if "inspector" in who and hazard.get("inspector_id"):
        out.append(hazard["inspector_id"])
    users = User._get_collection()
    if "supervisors" in who:
        query = {"role": str(Role.SUPERVISOR), "jurisdiction_id": hazard["jurisdiction_id"]}
        out += [u["_id"] for u in users.find({**query, "active": True}, {"_id": 1})]
    if "enterprise_managers" in who:
        query = {"role": str(Role.ENTERPRISE_MANAGER), "enterprise_id": hazard["enterprise_id"]}
        out += [u["_id"] for u in users.find({**query, "active": True}, {"_id": 1})]
    return out
