"""Violations of confined-space entry (server.models.violation), recorded where the scan and the
alarms record their own events: a denied entry scan (no valid permit, a failed gas test, any
other deny; recorded by the scan's outbox job, server.services.spaces.scan_log, so the scan's
answer does not wait for it), the attendant leaving with entrants inside and an overstay
(their alarms), and an alarm that no attendant of the permit nor the enterprise's manager
acknowledged within the time of `violations.yaml` (a timer armed when the alarm is raised).

Each violation is written once under an id derived from its cause and audited in the chain of
its jurisdiction. One that meets an M10 Art.13(2) criterion (no approval, no attendant, no
ventilation or test) at a firm whose confined-space work carries H2S/CO poisoning risk
(server.services.spaces.poisoning) is a candidate hazard: an outbox entry under an id derived
from the violation asks the register (server.jobs.hazards) to make a major to be confirmed,
itself under an id derived from the violation, so neither a retried scan path nor a retried
job makes two.

Repeats: a candidate at a space where an earlier candidate of the same criterion is still
open (its hazard not closed, withdrawn or rectified) and at most `candidate_repeat_window`
apart makes no hazard of its own: it is linked to that first candidate (`repeat_of`, and the
first's hazard), which counts it (`repeats`, `last_seen_at`). The register's job decides it
holding a lease per space and criterion, so two candidates judged at once cannot both become
a first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import yaml
from bson import ObjectId
from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from server.actor import Actor
from server.models.alarm import AlarmKind
from server.models.enterprise import Enterprise
from server.models.entry import Action, EntryEvent
from server.models.hazard import Hazard
from server.models.space import Space
from server.models.synced import changed_fields, mark_dirty, new_fields
from server.models.violation import Violation, ViolationKind
from server.sequence import Lease, held
from server.services import outbox, timers
from server.services.audit import record as audit
from server.services.hazards import states

DATA_FILE = Path(__file__).with_name("violations.yaml")
#: The outbox job that makes a candidate hazard of a violation (server.jobs.hazards).
HAZARD_JOB = "hazards.confined_space"
#: The outbox job that recorded the violation of a denied entry scan before the scan's own job
#: did (server.jobs.spaces); registered still for the entries stored then.
ENTRY_JOB = "spaces.entry_violation"
#: The outbox job of the acknowledgement timer of an alarm (server.jobs.spaces).
ACKNOWLEDGE_JOB = "spaces.alarm_acknowledged"
_COLLECTION = Violation._get_collection_name()
#: Violations read per batch while looking for the first candidate (the embedded server scans).
BATCH = 500
#: How long one job may hold the candidates of a space and criterion (it takes milliseconds;
#: a dead holder's lease passes on after this).
CANDIDATE_LEASE = timedelta(seconds=30)
#: Alarms whose raising is itself a violation.
ALARM_KINDS = {
    AlarmKind.ATTENDANT_LEFT: ViolationKind.ATTENDANT_LEFT,
    AlarmKind.OVERSTAY: ViolationKind.OVERSTAY,
}


@dataclass(frozen=True)
class Criterion:
    name: str
    item: str
    codes: frozenset[str]
    kinds: frozenset[str]
    zh_cn: str


@dataclass(frozen=True)
class ViolationRules:
    kinds: dict
    #: Deny codes that alone make a denied entry no violation.
    bookkeeping: frozenset[str]
    #: ((kind, codes), ...): a denied entry is the first kind whose codes it carries.
    denied_entry: tuple[tuple[str, frozenset[str]], ...]
    acknowledge_within: timedelta
    #: How far apart two candidates of one criterion at one space may be to be one hazard.
    candidate_repeat_window: timedelta
    major_source: str
    criteria: tuple[Criterion, ...]


@cache
def load_rules(path: Path = DATA_FILE) -> ViolationRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if set(raw["kinds"]) != set(ViolationKind.ALL):
        raise ValueError(f"{path.name}: kinds must be exactly {ViolationKind.ALL}")
    major = raw["major_hazard"]
    return ViolationRules(
        kinds=raw["kinds"],
        bookkeeping=frozenset(raw["bookkeeping"]),
        denied_entry=tuple((d["kind"], frozenset(d["codes"])) for d in raw["denied_entry"]),
        acknowledge_within=timedelta(seconds=raw["acknowledge_within_seconds"]),
        candidate_repeat_window=timedelta(seconds=raw["candidate_repeat_window_seconds"]),
        major_source=major["source"],
        criteria=tuple(
            Criterion(
                name,
                c["item"],
                frozenset(c.get("codes") or ()),
                frozenset(c.get("kinds") or ()),
                c["zh-CN"],
            )
            for name, c in major["criteria"].items()
        ),
    )


def entry_kind(event: dict) -> str | None:
    """The kind of violation a scan's entry event is: a denied entry scan at one of our spaces
    whose deny codes are not all bookkeeping (None: no violation)."""
    if event["allowed"] or event["action"] != Action.ENTER or event.get("space_id") is None:
        return None
    codes = _deny_codes(event)
    if set(codes) <= load_rules().bookkeeping:
        return None
    return next(
        (k for k, wanted in load_rules().denied_entry if wanted.intersection(codes)),
        ViolationKind.DENIED_SCAN,
    )


def record_entry_event(event_id: ObjectId) -> dict | None:
    """`ENTRY_JOB`'s work: the violation of a stored entry event, dated when the scan was
    (the job of entries stored before scans recorded their violations through their own
    job, server.services.spaces.scan_log; kept so that those still run)."""
    event = EntryEvent._get_collection().find_one({"_id": event_id})
    return None if event is None else on_entry_event(event, now=event["at"])


def on_entry_event(event: dict, *, now: datetime) -> dict | None:
    """A denied entry scan at one of our spaces is a violation (the scan's event is stored)."""
    kind = entry_kind(event)
    if kind is None:
        return None
    codes = _deny_codes(event)
    return _record(
        f"{kind}:{event['_id']}",
        kind,
        event,
        now=now,
        codes=codes,
        permit_id=event.get("permit_id"),
        worker_id=event["worker_id"],
        entry_event_id=event["_id"],
    )


def on_alarm(alarm: dict, *, now: datetime) -> dict | None:
    """An alarm was raised: arm its acknowledgement check; the attendant leaving and an
    overstay are violations themselves."""
    due = alarm["raised_at"] + load_rules().acknowledge_within
    job = outbox.Job(ACKNOWLEDGE_JOB, {"alarm_id": alarm["_id"]})
    timers.schedule(f"alarm:{alarm['_id']}:acknowledged", due, job, now=now)
    kind = ALARM_KINDS.get(alarm["kind"])
    if kind is None:
        return None
    return _alarm_violation(kind, alarm, now=now)


def check_acknowledged(alarm: dict | None, *, now: datetime) -> dict | None:
    """The acknowledgement timer fired: an alarm nobody closed in time is a violation."""
    if alarm is None:
        return None
    due = alarm["raised_at"] + load_rules().acknowledge_within
    closed = [a for a in alarm.get("acknowledgements") or () if a.get("closes")]
    if any(a["at"] <= due for a in closed):
        return None
    return _alarm_violation(ViolationKind.ALARM_UNACKNOWLEDGED, alarm, now=now)


def candidate_hazard(violation_id: str) -> dict | None:
    """The fields of the register's hazard a candidate violation becomes (None: not one)."""
    violation = Violation._get_collection().find_one({"_id": violation_id})
    if violation is None or not violation.get("hazard_candidate"):
        return None
    rules = load_rules()
    criterion = next(c for c in rules.criteria if c.name == violation["criterion"])
    space = Space._get_collection().find_one({"_id": violation["space_id"]}, {"code": 1, "name": 1})
    where = f"{space.get('code')} {space.get('name')}" if space else str(violation["space_id"])
    kind = rules.kinds[violation["kind"]]
    return {
        "violation_id": violation_id,
        "enterprise_id": violation["enterprise_id"],
        "jurisdiction_id": violation["jurisdiction_id"],
        "description": f"{criterion.zh_cn}（{where}：{kind['zh-CN']}）",
        "legal_basis": [rules.major_source, criterion.item, kind["source"]],
        "place": {"space_id": str(violation["space_id"])},
    }


def link_hazard(violation_id: str, hazard_id: str) -> None:
    changed = changed_fields()
    Violation._get_collection().update_one(
        {"_id": violation_id}, {**changed, "$set": {**changed["$set"], "hazard_id": hazard_id}}
    )
    mark_dirty(_COLLECTION)


class CandidateBusyError(RuntimeError):
    """Another job is judging a candidate of the same space and criterion; the outbox runs
    this one again later."""


@contextmanager
def candidate_turn(violation_id: str) -> Iterator[Lease]:
    """Hold the lease of the violation's space and criterion while its candidate is judged."""
    violation = Violation._get_collection().find_one(
        {"_id": violation_id}, {"space_id": 1, "criterion": 1}
    )
    name = f"violation-candidate:{violation['space_id']}:{violation['criterion']}"
    with held(get_db(), name, CANDIDATE_LEASE) as lease:
        if lease is None:
            raise CandidateBusyError(name)
        yield lease


def open_candidate(violation_id: str) -> dict | None:
    """The first candidate this one repeats (see the module docstring), or None when it is
    a first itself."""
    collection = Violation._get_collection()
    violation = collection.find_one({"_id": violation_id})
    if violation.get("repeat_of"):
        return collection.find_one({"_id": violation["repeat_of"]})
    if violation.get("hazard_id"):
        return None  # a first already: its hazard is being made again
    window = load_rules().candidate_repeat_window
    earlier = collection.find(
        {
            "space_id": violation["space_id"],
            "criterion": violation["criterion"],
            "at": {"$gte": violation["at"] - window, "$lte": violation["at"] + window},
        }
    ).sort([("at", 1), ("_id", 1)])
    for first in earlier.batch_size(BATCH):
        if (
            first["_id"] == violation_id
            or not first.get("hazard_candidate")
            or first.get("repeat_of")
            or not first.get("hazard_id")
        ):
            continue
        hazard = Hazard._get_collection().find_one({"_id": first["hazard_id"]}, {"state": 1})
        if hazard is not None and hazard["state"] in states.OPEN:
            return first
    return None


def link_repeat(violation_id: str, first: dict, *, now: datetime) -> str:
    """Link a candidate to the first one it repeats, counted there once; the first's hazard."""
    collection = Violation._get_collection()
    violation = collection.find_one({"_id": violation_id}, {"at": 1, "jurisdiction_id": 1})
    changed = changed_fields()
    collection.update_one(
        {"_id": violation_id},
        {
            **changed,
            "$set": {**changed["$set"], "repeat_of": first["_id"], "hazard_id": first["hazard_id"]},
        },
    )
    collection.update_one(
        {"_id": first["_id"], "repeat_ids": {"$ne": violation_id}},
        {
            "$set": {"sync_seq": None},
            "$inc": {"sync_rev": 1, "repeats": 1},
            "$push": {"repeat_ids": violation_id},
            "$max": {"last_seen_at": violation["at"]},
        },
    )
    mark_dirty(_COLLECTION)
    audit.record(
        None,
        "violation.repeat",
        "violation",
        violation_id,
        before=None,
        after={"id": violation_id, "repeat_of": first["_id"], "hazard_id": first["hazard_id"]},
        now=now,
        chain=violation["jurisdiction_id"],
        key=f"violation.repeat:{violation_id}",
    )
    return first["hazard_id"]


def visible(actor: Actor, **filters):
    """The violations the actor may see, newest first, filtered by the given fields."""
    since, until = filters.pop("since", None), filters.pop("until", None)
    found = Violation.objects.for_actor(actor).filter(
        **{k: v for k, v in filters.items() if v is not None}
    )
    if since is not None:
        found = found.filter(at__gte=since)
    if until is not None:
        found = found.filter(at__lt=until)
    return found.order_by("-at")


def criterion_of(kind: str, codes) -> str | None:
    """The M10 Art.13(2) criterion a violation of this kind with these deny codes meets."""
    for criterion in load_rules().criteria:
        if kind in criterion.kinds or criterion.codes.intersection(codes):
            return criterion.name
    return None


def _deny_codes(event: dict) -> list[str]:
    return [r["code"] for r in event["reasons"] if r.get("severity") == "deny"]


def _alarm_violation(kind: str, alarm: dict, *, now: datetime) -> dict:
    violation_id = f"{kind}:{alarm['_id']}"
    permit_id = alarm.get("permit_id")
    return _record(
        violation_id, kind, alarm, now=now, codes=[], permit_id=permit_id, alarm_id=alarm["_id"]
    )


def _record(violation_id: str, kind: str, source: dict, *, now: datetime, codes, **fields) -> dict:
    """Write the violation once, audit it, and ask for its candidate hazard (each step
    idempotent, so a second call mends what a first one left undone)."""
    criterion = criterion_of(kind, codes)
    risk = (
        Enterprise._get_collection()
        .find_one({"_id": source["enterprise_id"]}, {"poisoning_risk": 1})
        .get("poisoning_risk")
    )
    doc = {
        "_id": violation_id,
        "kind": kind,
        "space_id": source["space_id"],
        "enterprise_id": source["enterprise_id"],
        "jurisdiction_id": source["jurisdiction_id"],
        **fields,
        "codes": list(codes),
        "message": dict(load_rules().kinds[kind]),
        "criterion": criterion,
        "poisoning_risk": risk,
        # M10 Art.13 applies only to poisoning-risk firms: elsewhere the same fact is recorded
        # and stays a violation, never a major.
        "hazard_candidate": bool(criterion and risk is True),
        "hazard_id": None,
        "repeat_of": None,
        "repeat_ids": [],
        "repeats": 0,
        "last_seen_at": None,
        "at": now,
        **new_fields(),
    }
    try:
        Violation._get_collection().insert_one(doc)
    except DuplicateKeyError:
        doc = Violation._get_collection().find_one({"_id": violation_id})
    mark_dirty(_COLLECTION)
    audit.record(
        None,
        "violation.record",
        "violation",
        doc["_id"],
        before=None,
        after=doc,
        now=now,
        chain=doc["jurisdiction_id"],
        key=f"violation.record:{doc['_id']}",
    )
    if doc["hazard_candidate"]:
        entry_id = "violation-" + hashlib.sha256(doc["_id"].encode()).hexdigest()[:40]
        outbox.record_once(outbox.Job(HAZARD_JOB, {"violation_id": doc["_id"]}), entry_id, now=now)
    return doc
