"""Use cases of entry permits (作业审批): make a permit, take it through its states, append its
records, and read a permit as the facts the entry rules judge (server.models.permit).

The states are data (`TRANSITIONS`): each action, the states it leaves, the state it enters and
who takes it. A permit is made as a draft by the enterprise's manager (or an admin) and
approved by the manager in a capacity (principal, written delegate, other); it becomes active
at its first entry (server.services.spaces.scan) or by hand; it is suspended and resumed,
closed once nobody is inside, or cancelled before it began. Records are appended by the
enterprise's people while the permit is not closed or cancelled, never changed. The REST views
and the push handlers (sync.handlers.permit) call the same functions; every change is audited
in the chain of the permit's jurisdiction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from server.actor import Actor, Role
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.entry import Roster
from server.models.permit import (
    ApproverCapacity,
    Permit,
    PermitRecord,
    PermitStatus,
    approved_by_principal,
)
from server.models.scoping import parse_object_id
from server.models.space import Space, SpaceStatus
from server.models.synced import mark_dirty
from server.models.user import User
from server.services import identity
from server.services.audit import record as audit
from server.services.spaces import alarms, ledger
from server.services.spaces.entry_rules import Kind, PermitFacts, Reading, Record

S = PermitStatus

#: Every kind of record a permit takes; gas tests and monitoring carry readings.
RECORD_KINDS = tuple(v for k, v in vars(Kind).items() if k.isupper())
WITH_READINGS = (Kind.GAS_TEST, Kind.MONITORING)
#: Units a reading may be entered in (checklists.gas converts them to the limit's unit).
UNITS = ("ppm", "mg/m3", "%VOL", "%LEL")


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    target: str
    #: Roles that take it (admins take every transition).
    who: frozenset[Role]
    source: str


_MANAGER = frozenset({Role.ENTERPRISE_MANAGER})
TRANSITIONS: tuple[Transition, ...] = (
    Transition("approve", (S.DRAFT,), S.APPROVED, _MANAGER, "M13 Art.7; GB46768 5.2.1"),
    Transition("activate", (S.APPROVED,), S.ACTIVE, _MANAGER, "GB30871 Annex A"),
    Transition("suspend", (S.APPROVED, S.ACTIVE), S.SUSPENDED, _MANAGER, "GB30871 4.10f"),
    Transition("resume", (S.SUSPENDED,), S.ACTIVE, _MANAGER, "GB30871 4.10f"),
    Transition("close", (S.ACTIVE, S.SUSPENDED), S.CLOSED, _MANAGER, "GB46768 7.1.1"),
    Transition("cancel", (S.DRAFT, S.APPROVED), S.CANCELLED, _MANAGER, "GB30871 4.16"),
)
BY_ACTION = {t.action: t for t in TRANSITIONS}

_COLLECTION = Permit._get_collection_name()


def _permits():
    return Permit._get_collection()


def _records():
    return PermitRecord._get_collection()


def require_manager(actor: Actor, enterprise_id: ObjectId) -> None:
    """The enterprise's manager, or an admin."""
    if actor.is_admin:
        return
    if actor.role is Role.ENTERPRISE_MANAGER and actor.enterprise_id == enterprise_id:
        return
    raise Forbidden("only the enterprise's manager or an admin does this")


def new_permit(actor: Actor, data: dict) -> dict:
    """The fields of a new draft permit from what was sent (validated against the ledger and
    the users it names); the caller inserts it."""
    space = _space(actor, data["space_id"])
    require_manager(actor, space["enterprise_id"])
    if data["valid_to"] <= data["valid_from"]:
        raise _invalid("valid_to", "must be after valid_from")
    attendants = _unique(data["attendants"])
    entrants = data["entrants"]
    entrant_ids = _unique([e["user_id"] for e in entrants])
    if len(entrant_ids) != len(entrants):
        raise _invalid("entrants", "an entrant is named twice")
    if both := set(attendants) & set(entrant_ids):
        raise _invalid("entrants", f"attendants cannot enter: {', '.join(map(str, both))}")
    _check_users(attendants, "attendants", space["enterprise_id"])
    _check_users(entrant_ids, "entrants", None)
    enterprise = Enterprise.objects(id=space["enterprise_id"]).first()
    return {
        "space_id": space["_id"],
        "enterprise_id": space["enterprise_id"],
        "jurisdiction_id": space["jurisdiction_id"],
        "regime": identity.effective_regime(enterprise),
        "altitude_m": enterprise.altitude_m,
        "work": data["work"],
        "applicant_id": actor.user_id,
        "valid_from": data["valid_from"],
        "valid_to": data["valid_to"],
        "attendants": attendants,
        "entrants": [
            {"user_id": oid, "name": e.get("name"), "employer": e.get("employer")}
            for oid, e in zip(entrant_ids, entrants, strict=True)
        ],
        "entrant_ids": entrant_ids,
        "max_headcount": data["max_headcount"],
        "status": S.DRAFT,
        "history": [],
    }


def draft_changes(actor: Actor, current: dict, data: dict) -> dict:
    """What an edit of a draft sets (the space stays); only drafts are edited."""
    require_manager(actor, current["enterprise_id"])
    if current["status"] != S.DRAFT:
        raise RuleViolation(
            f"a permit is edited only as a draft; this one is {current['status']}",
            reasons=[{"code": "NOT_DRAFT"}],
        )
    merged = {
        "space_id": current["space_id"],
        "work": current["work"],
        "valid_from": current["valid_from"],
        "valid_to": current["valid_to"],
        "attendants": current["attendants"],
        "entrants": current["entrants"],
        "max_headcount": current["max_headcount"],
        **data,
    }
    fields = new_permit(actor, merged)
    return {k: fields[k] for k in (*data, "entrant_ids") if k in fields}


def create(actor: Actor, data: dict, *, now: datetime) -> dict:
    """Make a draft permit over REST (an id of the server's)."""
    doc = {
        **new_permit(actor, data),
        "_id": str(uuid.uuid4()),
        "received_at": now,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "mutation_ids": [],
        "sync_seq": None,
        "sync_rev": 1,
    }
    _permits().insert_one(doc)
    mark_dirty(_COLLECTION)
    _audit(actor, "permit.create", None, doc, now, key=f"permit.create:{doc['_id']}")
    return doc


def read(actor: Actor, permit_id: str) -> dict:
    doc = _permits().find_one({"_id": str(permit_id)})
    if not Permit.audience.allows(actor, doc):
        raise NotFound(f"permit {permit_id} not found")
    return doc


def take(
    actor: Actor, permit_id: str, action: str, params: dict, *, now: datetime, version: int
) -> dict:
    """Take transition `action` on the `version` the caller saw; Conflict when stale."""
    transition = BY_ACTION.get(action)
    if transition is None:
        raise RuleViolation(f"no transition {action}", reasons=[{"code": "UNKNOWN_ACTION"}])
    current = read(actor, permit_id)
    if not actor.is_admin:
        if actor.role not in transition.who:
            raise Forbidden(f"{action} is taken by the enterprise's manager")
        require_manager(actor, current["enterprise_id"])
    if current["version"] != version:
        raise Conflict(f"permit {permit_id} changed since version {version}")
    if current["status"] not in transition.sources:
        raise RuleViolation(
            f"{action} is not possible from {current['status']}",
            reasons=[{"code": "WRONG_STATE", "status": current["status"]}],
        )
    changes = {"status": transition.target, "updated_at": now}
    if action == "approve":
        changes.update(_approval(actor, params, now))
    if action == "close" and _occupied(current):
        raise RuleViolation("a permit closes once everybody is out", reasons=[{"code": "OCCUPIED"}])
    step = {
        "action": action,
        "from": current["status"],
        "to": transition.target,
        "by": actor.user_id,
        "at": now,
        "reason": params.get("reason"),
    }
    result = _permits().update_one(
        {"_id": current["_id"], "sync_rev": current["sync_rev"]},
        {
            "$set": {**changes, "sync_seq": None},
            "$inc": {"version": 1, "sync_rev": 1},
            "$push": {"history": step},
        },
    )
    if not result.matched_count:
        raise Conflict(f"permit {permit_id} changed meanwhile; reload and retry")
    mark_dirty(_COLLECTION)
    after = _permits().find_one({"_id": current["_id"]})
    _audit(actor, f"permit.{action}", current, after, now, key=f"permit.{action}:{after['_id']}")
    if action == "approve":
        alarms.schedule_overstay(after, now=now)
    return after


def activate_on_entry(permit_id: str, *, now: datetime) -> bool:
    """An approved permit becomes active at its first allowed entry (once, whoever races)."""
    step = {"action": "activate", "from": S.APPROVED, "to": S.ACTIVE, "by": None, "at": now}
    result = _permits().update_one(
        {"_id": permit_id, "status": S.APPROVED},
        {
            "$set": {"status": S.ACTIVE, "updated_at": now, "sync_seq": None},
            "$inc": {"version": 1, "sync_rev": 1},
            "$push": {"history": step},
        },
    )
    if not result.modified_count:
        return False
    mark_dirty(_COLLECTION)
    after = _permits().find_one({"_id": permit_id})
    before = {**after, "status": S.APPROVED}
    _audit(None, "permit.activate", before, after, now, key=f"permit.activate:{permit_id}")
    return True


def new_record(actor: Actor, data: dict) -> dict:
    """The fields of a record appended to a permit (the caller inserts it)."""
    permit = _permits().find_one({"_id": data["permit_id"]})
    if not Permit.audience.allows(actor, permit):
        raise NotFound(f"permit {data['permit_id']} not found")
    if actor.role is Role.SUPERVISOR:
        raise Forbidden("a permit's records are made by the enterprise's people")
    if permit["status"] in (S.CLOSED, S.CANCELLED):
        raise RuleViolation(
            f"the permit is {permit['status']}: nothing more is recorded on it",
            reasons=[{"code": "PERMIT_ENDED"}],
        )
    kind = data["kind"]
    readings = data.get("readings") or {}
    if kind in WITH_READINGS and not readings:
        raise _invalid("readings", f"a {kind} record carries readings")
    if kind not in WITH_READINGS and readings:
        raise _invalid("readings", f"a {kind} record carries none")
    return {
        "permit_id": permit["_id"],
        "space_id": permit["space_id"],
        "enterprise_id": permit["enterprise_id"],
        "jurisdiction_id": permit["jurisdiction_id"],
        "kind": kind,
        "by": actor.user_id,
        "at": data["at"],
        "instrument": data.get("instrument"),
        "readings": readings,
        "location": data.get("location"),
        "note": data.get("note"),
        "confirmed": True,
    }


def append_record(actor: Actor, data: dict, *, now: datetime) -> dict:
    """Append a record over REST (an id of the server's)."""
    doc = {
        **new_record(actor, data),
        "_id": str(uuid.uuid4()),
        "received_at": now,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "mutation_ids": [],
        "sync_seq": None,
        "sync_rev": 1,
    }
    _records().insert_one(doc)
    mark_dirty(PermitRecord._get_collection_name())
    _audit(actor, "permit_record.create", None, doc, now, kind="permit_record")
    alarms.on_record(doc, ledger.gas_limits(), now=now)
    return doc


def records_of(permit_id: str) -> list[dict]:
    """A permit's records in the order the server received them."""
    return list(_records().find({"permit_id": permit_id}).sort([("received_at", 1), ("_id", 1)]))


def facts(permit: dict, records: list[dict]) -> PermitFacts:
    """A permit and its records as the entry rules read them."""
    return PermitFacts(
        status=permit["status"],
        valid_from=permit["valid_from"],
        valid_to=permit["valid_to"],
        entrants=frozenset(permit.get("entrant_ids") or ()),
        attendants=frozenset(permit.get("attendants") or ()),
        max_headcount=permit["max_headcount"],
        approved_by_principal=approved_by_principal(
            permit.get("approver_capacity"), permit.get("delegation_ref")
        ),
        records=tuple(
            Record(
                kind=r["kind"],
                at=r["at"],
                by=r.get("by"),
                readings={
                    code: Reading(v["value"], v["unit"], v.get("gas"), v.get("lel"))
                    for code, v in (r.get("readings") or {}).items()
                },
            )
            for r in records
        ),
    )


def _approval(actor: Actor, params: dict, now: datetime) -> dict:
    capacity = params.get("capacity")
    if capacity not in ApproverCapacity.ALL:
        raise _invalid("capacity", f"one of {', '.join(ApproverCapacity.ALL)}")
    if capacity == ApproverCapacity.DELEGATE and not params.get("delegation_ref"):
        raise _invalid("delegation_ref", "a delegate names the written delegation")
    return {
        "approver_id": actor.user_id,
        "approver_capacity": capacity,
        "delegation_ref": params.get("delegation_ref"),
        "approved_at": now,
    }


def _occupied(permit: dict) -> bool:
    roster = Roster._get_collection().find_one({"_id": permit["space_id"]}, {"entered_on": 1})
    return bool(roster) and permit["_id"] in (roster.get("entered_on") or {}).values()


def _space(actor: Actor, space_id) -> dict:
    oid = parse_object_id(space_id, "space")
    space = Space._get_collection().find_one({"_id": oid})
    if not Space.audience.allows(actor, space):
        raise NotFound(f"space {space_id} not found")
    if space["status"] != SpaceStatus.ACTIVE:
        raise RuleViolation(
            f"the space is {space['status']}", reasons=[{"code": "SPACE_NOT_ACTIVE"}]
        )
    return space


def _check_users(ids: list[ObjectId], field: str, enterprise_id: ObjectId | None) -> None:
    """Every id is an active user; attendants belong to the permit's enterprise. Entrants may
    be contractors' workers (users of another enterprise) of an outsourced job."""
    if not ids:
        raise _invalid(field, "at least one")
    found = {
        u["_id"]: u
        for u in User._get_collection().find(
            {"_id": {"$in": ids}}, {"enterprise_id": 1, "active": 1, "role": 1}
        )
    }
    for oid in ids:
        user = found.get(oid)
        if user is None or user.get("active") is False:
            raise _invalid(field, f"no active user {oid}")
        if enterprise_id is not None and user.get("enterprise_id") != enterprise_id:
            raise _invalid(field, f"user {oid} is not of the permit's enterprise")


def _unique(ids) -> list[ObjectId]:
    return list(dict.fromkeys(ObjectId(i) for i in ids))


def _invalid(field: str, message: str) -> RuleViolation:
    return RuleViolation(f"{field}: {message}", errors=[{"field": field, "messages": [message]}])


def _audit(actor, action, before, after, now, *, kind="permit", **extra) -> None:
    audit.record(
        actor,
        action,
        kind,
        after["_id"],
        before=before,
        after=after,
        now=now,
        chain=after["jurisdiction_id"],
        **extra,
    )
