"""Alarms that order the entrants out (server.models.alarm): raised by the scan (the last
attendant checking out with entrants inside), by a monitoring record out of its limits while
people are inside, and by the overstay timer at the end of a permit's window; acknowledged by
their recipients.

Raising writes the alarm under an id derived from its cause (a retry finds it), then lists it
on the space's roster, which the entry rules read (ALARM). The acknowledgement of an attendant
of the permit or of the enterprise's manager (or an admin) closes it and takes it off the
roster; an entrant's acknowledgement is recorded (they were told) and leaves it open. Every
raise and acknowledgement is audited.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from checklists.template import GasLimits
from server.actor import Actor, Role
from server.errors import Forbidden, NotFound
from server.models.alarm import Alarm, AlarmKind, AlarmStatus
from server.models.entry import Roster
from server.models.permit import Permit
from server.models.space import Space
from server.models.synced import mark_dirty, new_fields
from server.models.user import User
from server.services import outbox, timers
from server.services.audit import record as audit
from server.services.spaces import entry_rules, violations
from server.services.spaces.entry_rules import Kind
from server.services.spaces.roster import list_alarm, unlist_alarm

#: The outbox job of the overstay timer (registered in server.wiring).
OVERSTAY_JOB = "spaces.overstay"
#: The reason each kind of alarm gives (texts in checklists/data/entry_rules.yaml).
REASON = {
    AlarmKind.ATTENDANT_LEFT: "ATTENDANT_LEFT",
    AlarmKind.MONITORING: "ALARM",
    AlarmKind.OVERSTAY: "OVERSTAY",
}
_COLLECTION = Alarm._get_collection_name()


def _alarms():
    return Alarm._get_collection()


def raise_alarm(
    kind: str, *, space: dict, permit: dict | None, ref: str, now: datetime, detail=None
) -> dict | None:
    """Raise an alarm at the space with the people inside now; None when nobody is inside
    or it was raised before (the same `ref`)."""
    roster = Roster._get_collection().find_one({"_id": space["_id"]}) or {}
    inside = list(roster.get("inside") or ())
    if not inside:
        return None
    reason = entry_rules.load_rules().reasons[REASON[kind]]
    alarm = {
        "_id": f"{kind}:{ref}",
        "kind": kind,
        "space_id": space["_id"],
        "permit_id": permit["_id"] if permit else None,
        "enterprise_id": space["enterprise_id"],
        "jurisdiction_id": space["jurisdiction_id"],
        "inside": inside,
        "recipients": _recipients(space, permit, inside),
        "message": {"zh-CN": reason["zh-CN"], "en": reason["en"], "source": reason["source"]},
        "detail": detail,
        "status": AlarmStatus.OPEN,
        "acknowledgements": [],
        "raised_at": now,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **new_fields(),
    }
    try:
        _alarms().insert_one(alarm)
    except DuplicateKeyError:
        return None
    mark_dirty(_COLLECTION)
    list_alarm(space["_id"], alarm["_id"])
    _audit(None, "alarm.raise", None, alarm, now, key=f"alarm.raise:{alarm['_id']}")
    violations.on_alarm(alarm, now=now)
    return alarm


def acknowledge(actor: Actor, alarm_id: str, *, now: datetime) -> dict:
    """Record the actor's acknowledgement; an attendant's or a manager's closes the alarm."""
    current = read(actor, alarm_id)
    closes = _closes(actor, current)
    if not closes and actor.user_id not in (current.get("recipients") or ()):
        raise Forbidden("the alarm's recipients acknowledge it")
    changes: dict = {"updated_at": now, "sync_seq": None}
    if closes:
        changes["status"] = AlarmStatus.ACKNOWLEDGED
    _alarms().update_one(
        {"_id": current["_id"]},
        {
            "$set": changes,
            "$push": {"acknowledgements": {"by": actor.user_id, "at": now, "closes": closes}},
            "$inc": {"version": 1, "sync_rev": 1},
        },
    )
    mark_dirty(_COLLECTION)
    if closes:
        unlist_alarm(current["space_id"], current["_id"])
    after = _alarms().find_one({"_id": current["_id"]})
    _audit(actor, "alarm.acknowledge", current, after, now)
    return after


def open_alarms(actor: Actor, *, space_id=None, since: datetime | None = None) -> list[dict]:
    """The open alarms the actor may see (changed at or after `since`), newest first: what a
    page polling every few seconds asks for. Read through the rosters (each space's roster
    lists its open alarms, and shares their audience), then by id alone, which the embedded
    server answers from its index: the cost grows with the spaces, not with every alarm ever
    raised."""
    rosters = Roster.objects.for_actor(actor).filter(alarms__ne=[])
    if space_id is not None:
        rosters = rosters.filter(id=space_id)
    ids = [a for r in rosters.only("alarms").as_pymongo() for a in r.get("alarms") or ()]
    found = [
        a
        for a in _alarms().find({"_id": {"$in": ids}})
        if a["status"] == AlarmStatus.OPEN and (since is None or a["updated_at"] >= since)
    ]
    return sorted(found, key=lambda a: a["raised_at"], reverse=True)


def read(actor: Actor, alarm_id: str) -> dict:
    doc = _alarms().find_one({"_id": str(alarm_id)})
    if not Alarm.audience.allows(actor, doc):
        raise NotFound(f"alarm {alarm_id} not found")
    return doc


def on_record(record: dict, limits: GasLimits, *, now: datetime) -> dict | None:
    """A monitoring record out of its limits while people are inside raises an alarm."""
    if record["kind"] != Kind.MONITORING:
        return None
    space = Space._get_collection().find_one({"_id": record["space_id"]})
    permit = Permit._get_collection().find_one({"_id": record["permit_id"]})
    readings = {
        code: entry_rules.Reading(v["value"], v["unit"], v.get("gas"), v.get("lel"))
        for code, v in (record.get("readings") or {}).items()
    }
    facts = entry_rules.Record(record["kind"], record["at"], record.get("by"), readings)
    failing = entry_rules.out_of_limits(
        facts,
        entry_rules.space_facts(space),
        limits,
        regime=permit["regime"],
        altitude_m=permit.get("altitude_m"),
    )
    if not failing:
        return None
    detail = ", ".join(failing)
    return raise_alarm(
        AlarmKind.MONITORING, space=space, permit=permit, ref=record["_id"], now=now, detail=detail
    )


def schedule_overstay(permit: dict, *, now: datetime) -> None:
    """Arm the overstay check at the end of the permit's window (once per permit)."""
    job = outbox.Job(OVERSTAY_JOB, {"permit_id": permit["_id"]})
    timers.schedule(f"permit:{permit['_id']}:overstay", permit["valid_to"], job, now=now)


def check_overstay(permit_id: str, *, now: datetime) -> dict | None:
    """The overstay timer fired: anyone still inside on the permit raises an alarm."""
    permit = Permit._get_collection().find_one({"_id": permit_id})
    if permit is None:
        return None
    roster = Roster._get_collection().find_one({"_id": permit["space_id"]}) or {}
    if permit_id not in (roster.get("entered_on") or {}).values():
        return None
    space = Space._get_collection().find_one({"_id": permit["space_id"]})
    return raise_alarm(AlarmKind.OVERSTAY, space=space, permit=permit, ref=permit_id, now=now)


def check_acknowledged(alarm_id: str, *, now: datetime) -> dict | None:
    """The alarm's acknowledgement timer fired: a violation when nobody closed it in time."""
    return violations.check_acknowledged(_alarms().find_one({"_id": alarm_id}), now=now)


def _closes(actor: Actor, alarm: dict) -> bool:
    if actor.is_admin:
        return True
    if actor.role is Role.ENTERPRISE_MANAGER and actor.enterprise_id == alarm["enterprise_id"]:
        return True
    permit = Permit._get_collection().find_one({"_id": alarm.get("permit_id")}, {"attendants": 1})
    return permit is not None and actor.user_id in (permit.get("attendants") or ())


def _recipients(space: dict, permit: dict | None, inside: list) -> list:
    """The attendants and entrants of the permit, who is inside, and the firm's managers."""
    managers = [
        u["_id"]
        for u in User._get_collection().find(
            {"enterprise_id": space["enterprise_id"], "role": Role.ENTERPRISE_MANAGER.value},
            {"_id": 1},
        )
    ]
    people = [*(permit or {}).get("attendants", ()), *inside, *managers]
    people += (permit or {}).get("entrant_ids", ())
    return list(dict.fromkeys(people))


def _audit(actor, action, before, after, now, **extra) -> None:
    audit.record(
        actor,
        action,
        "alarm",
        after["_id"],
        before=before,
        after=after,
        now=now,
        chain=after["jurisdiction_id"],
        **extra,
    )
