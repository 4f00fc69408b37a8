"""The hazard register: hazards made from the failed items of a submitted inspection, by hand
by a regulator, from an enterprise's self-report, from a public report a supervisor
verified (server.services.hazards.public_reports) and from a confined-space violation that
meets a major-hazard criterion (server.services.spaces.violations); each linked, when it
repeats an earlier finding, to the first hazard of its kind.

Findings of an inspection are registered by the outbox job of its submission
(server.jobs.hazards), so none is lost when Redis is down and none is made twice: a hazard's id
derives from the inspection and the item, and a second run finds the first run's hazards. A
correcting record (`corrects`) carries the hazards of the record it corrects forward by
reference; a hazard it no longer finds is withdrawn with a reason.

Repeats (就隐患改隐患): a finding of the same item — following checklists v2 `continues` across
versions — at the same enterprise (and the same space, when both name one) within the repeat
period is linked to the earliest such hazard (`repeat_of`), which counts its repeats
(`repeat_ids`).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from checklists.answer import Outcome, Severity
from checklists.regime import Conditions
from checklists.versions import pinned_template
from server.actor import Actor, Role
from server.errors import Forbidden, NotFound
from server.models.enterprise import Enterprise
from server.models.hazard import Hazard, Level, Source
from server.models.inspection import Inspection, Status
from server.models.synced import changed_fields, mark_dirty, new_fields
from server.models.user import User
from server.services.audit import record
from server.services.hazards import lifecycle, states

log = logging.getLogger(__name__)

#: The outbox job an inspection's submission stages (sync.handlers.inspection), run by
#: server.jobs.hazards.register_findings (registered in server.wiring).
FINDINGS_JOB = "hazards.findings"

#: Findings of one inspection's items are one hazard each, under an id derived from both.
_IDS = uuid.UUID("5b0b6f0e-7c1a-4f5e-9a55-3c1d2a0e1b11")
#: Hazards read per batch while looking for an earlier one (the embedded server scans).
BATCH = 500
#: What the answer's severity makes of a hazard: (level, confirmed). A criterion checklists v2
#: marks unsure stays "major, to be confirmed" until a supervisor confirms it.
LEVELS = {
    Severity.MAJOR.value: (Level.MAJOR, True),
    Severity.MAJOR_TO_CONFIRM.value: (Level.MAJOR, False),
    Severity.GENERAL.value: (Level.GENERAL, True),
}
COLLECTION = Hazard._get_collection_name()


def finding_id(inspection_id: str, item_code: str) -> str:
    """The id of the hazard an inspection's failed item becomes."""
    return str(uuid.uuid5(_IDS, f"{inspection_id}:{item_code}"))


def item_key(checklist_code: str, version: int, item_code: str) -> str:
    return f"{checklist_code}:{version}:{item_code}"


def lineage(checklist_code: str, version: int, item_code: str) -> list[str]:
    """The item's key and those of every item of earlier versions it continues."""
    keys: list[str] = []
    frontier = [(version, item_code)]
    while frontier:
        v, code = frontier.pop()
        key = item_key(checklist_code, v, code)
        if key in keys:
            continue
        keys.append(key)
        if v <= 1:
            continue
        try:
            item = pinned_template(checklist_code, v).item(code)
        except (NotFound, KeyError):
            continue
        frontier += [(v - 1, earlier) for earlier in item.continues]
    return keys


def register_findings(inspection_id: str, *, now: datetime, repeat_window: timedelta) -> list:
    """A hazard per failed item of a submitted inspection (idempotent); returns their ids."""
    raw = Inspection._get_collection().find_one({"_id": inspection_id})
    if raw is None or raw.get("status") not in Status.FINDINGS:
        return []
    failed = {
        code: answer
        for code, answer in (raw.get("answers") or {}).items()
        if answer.get("outcome") == Outcome.FAIL.value
    }
    carried = _carry_forward(raw, failed, now=now)
    made = []
    for code, answer in sorted(failed.items()):
        if code in carried:
            continue
        made.append(_register_finding(raw, code, answer, now=now, window=repeat_window))
    return [*carried.values(), *made]


def _register_finding(raw: dict, code: str, answer: dict, *, now, window) -> str:
    template = pinned_template(raw["checklist_code"], raw["checklist_version"])
    conditions = Conditions.from_dict(raw.get("judged_under"))
    item = template.item(code)
    if conditions.regime:
        item = item.for_regime(conditions.regime)
    level, confirmed = LEVELS[answer.get("severity") or Severity.GENERAL.value]
    text = item.text.get("zh-CN")
    doc = _new(
        hazard_id=finding_id(raw["_id"], code),
        source=Source.INSPECTION,
        enterprise_id=raw["enterprise_id"],
        jurisdiction_id=raw["jurisdiction_id"],
        inspector_id=raw["inspector_id"],
        reported_by=raw["inspector_id"],
        description=f"{text}（{answer['note']}）" if answer.get("note") else text,
        level=level,
        level_confirmed=confirmed,
        now=now,
        inspection_id=raw["_id"],
        inspection_ids=[raw["_id"]],
        checklist_code=raw["checklist_code"],
        checklist_version=raw["checklist_version"],
        item_code=code,
        legal_basis=list(item.legal_basis),
        severity=answer.get("severity"),
        place={"location": raw["location"]} if raw.get("location") else {},
        photos=list(answer.get("photos") or ()),
    )
    return insert(doc, actor=None, now=now, window=window)


def _new(*, hazard_id, source, level, level_confirmed, now, **fields) -> dict:
    """A hazard document as stored, found now."""
    key_fields = {}
    if fields.get("checklist_code") and fields.get("item_code") and fields.get("checklist_version"):
        args = (fields["checklist_code"], fields["checklist_version"], fields["item_code"])
        key_fields = {"item_key": item_key(*args), "item_lineage": lineage(*args)}
    return {
        "_id": hazard_id,
        "source": source,
        **fields,
        **key_fields,
        "level": level,
        "level_confirmed": level_confirmed,
        "state": states.FOUND,
        "listing": "none",
        "escalations": [],
        "repeat_ids": [],
        "history": [
            {
                "action": "found",
                "from": None,
                "to": states.FOUND,
                "by": fields.get("reported_by"),
                "at": now,
            }
        ],
        "version": 1,
        "mutation_ids": [],
        "received_at": now,
        "created_at": now,
        "updated_at": now,
        **new_fields(),
    }


def insert(doc: dict, *, actor: Actor | None, now: datetime, window: timedelta) -> str:
    """Store a new hazard linked to the hazard it repeats, and audit it; a second call with the
    same id (a retried job) finds it and mends what the first may have left undone."""
    collection = Hazard._get_collection()
    earlier = earliest_repeated(doc, since=now - window)
    if earlier is not None:
        doc["repeat_of"] = earlier
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        doc = collection.find_one({"_id": doc["_id"]})
    mark_dirty(COLLECTION)
    if doc.get("repeat_of"):
        _count_repeat(doc["repeat_of"], doc["_id"])
    record.record(
        actor,
        "hazard.create",
        "hazard",
        doc["_id"],
        before=None,
        after=doc,
        now=now,
        chain=doc["jurisdiction_id"],
        key=f"hazard.create:{doc['_id']}",
    )
    return doc["_id"]


def earliest_repeated(doc: dict, *, since: datetime) -> str | None:
    """The first hazard `doc` repeats (see the module docstring), or None."""
    lineage_ = set(doc.get("item_lineage") or ())
    if not lineage_:
        return None
    mine = set(doc.get("inspection_ids") or ())
    space = (doc.get("place") or {}).get("space_id")
    found = []
    query = {"enterprise_id": doc["enterprise_id"], "created_at": {"$gte": since}}
    wanted = {
        "item_key": 1,
        "item_lineage": 1,
        "inspection_ids": 1,
        "place": 1,
        "state": 1,
        "created_at": 1,
        "repeat_of": 1,
    }
    for other in Hazard._get_collection().find(query, wanted).batch_size(BATCH):
        if other["_id"] == doc["_id"] or mine & set(other.get("inspection_ids") or ()):
            continue
        if other.get("state") == states.WITHDRAWN:
            continue
        same_item = other.get("item_key") in lineage_ or doc.get("item_key") in set(
            other.get("item_lineage") or ()
        )
        theirs = (other.get("place") or {}).get("space_id")
        if same_item and (space is None or theirs is None or space == theirs):
            found.append(other)
    if not found:
        return None
    first = min(found, key=lambda h: (h["created_at"], h["_id"]))
    return first.get("repeat_of") or first["_id"]


def _count_repeat(first_id: str, repeat_id: str) -> None:
    changed = changed_fields()
    Hazard._get_collection().update_one(
        {"_id": first_id, "repeat_ids": {"$ne": repeat_id}},
        {"$addToSet": {"repeat_ids": repeat_id}, **changed},
    )
    mark_dirty(COLLECTION)


def _carry_forward(raw: dict, failed: dict, *, now: datetime) -> dict[str, str]:
    """Hazards of the record this one corrects: carried by reference for items that still
    fail (item code → hazard id), withdrawn with a reason for those that no longer do."""
    original = raw.get("corrects")
    if not original:
        return {}
    collection = Hazard._get_collection()
    carried = {}
    for hazard in collection.find({"inspection_ids": original}).batch_size(BATCH):
        code = hazard.get("item_code")
        if code in failed:
            if raw["_id"] not in (hazard.get("inspection_ids") or ()):
                collection.update_one(
                    {"_id": hazard["_id"]},
                    {"$addToSet": {"inspection_ids": raw["_id"]}, **changed_fields()},
                )
                mark_dirty(COLLECTION)
            carried[code] = hazard["_id"]
        elif hazard["state"] in states.BY_ACTION["withdraw"].sources:
            lifecycle.take(
                None,
                hazard["_id"],
                "withdraw",
                {"reason": f"not found again by the correcting inspection {raw['_id']}"},
                now=now,
            )
    return carried


def create_by_hand(actor: Actor, *, now: datetime, window: timedelta, **fields) -> str:
    """A hazard a supervisor or inspector records without a checklist item answer."""
    if actor.role not in states.INSPECTING:
        raise Forbidden("only inspectors and supervisors record hazards")
    enterprise = visible_enterprise(actor, fields.pop("enterprise_id"))
    level = fields.pop("level")
    doc = _new(
        hazard_id=str(uuid.uuid4()),
        source=Source.MANUAL,
        enterprise_id=enterprise["_id"],
        jurisdiction_id=enterprise["jurisdiction_id"],
        inspector_id=actor.user_id if actor.role is Role.INSPECTOR else None,
        reported_by=actor.user_id,
        level=level,
        # A supervisor's classification stands; an inspector's major awaits confirmation.
        level_confirmed=level == Level.GENERAL or actor.role is Role.SUPERVISOR,
        now=now,
        inspection_ids=[],
        **fields,
    )
    return insert(doc, actor=actor, now=now, window=window)


def create_from_public_report(
    actor: Actor,
    hazard_id: str,
    *,
    enterprise_id,
    now: datetime,
    window: timedelta,
    inspector_id=None,
    **fields,
) -> str:
    """The hazard a supervisor's verification makes of a public report (群众举报查实): theirs
    as its recorder, the level theirs (confirmed), nothing of the reporter (idempotent by id).
    `inspector_id`: the inspector of the jurisdiction the supervisor assigns it to, who then
    sees it, orders it rectified and re-inspects it (no inspection found it)."""
    if actor.role is not Role.SUPERVISOR:
        raise Forbidden("only a supervisor verifies public reports")
    enterprise = visible_enterprise(actor, enterprise_id)
    assigned = assignable_inspector(inspector_id, enterprise["jurisdiction_id"])
    doc = _new(
        hazard_id=hazard_id,
        source=Source.PUBLIC_REPORT,
        enterprise_id=enterprise["_id"],
        jurisdiction_id=enterprise["jurisdiction_id"],
        inspector_id=assigned,
        reported_by=actor.user_id,
        level_confirmed=True,
        now=now,
        inspection_ids=[],
        **fields,
    )
    return insert(doc, actor=actor, now=now, window=window)


def create_from_violation(
    violation_id: str, *, enterprise_id, jurisdiction_id, now: datetime, window: timedelta, **fields
) -> str:
    """The candidate major a confined-space violation makes (M10 Art.13(2)): recorded by
    nobody, awaiting a supervisor's confirmation (idempotent: its id derives from the
    violation)."""
    doc = _new(
        hazard_id=str(uuid.uuid5(_IDS, f"violation:{violation_id}")),
        source=Source.CONFINED_SPACE,
        enterprise_id=enterprise_id,
        jurisdiction_id=jurisdiction_id,
        inspector_id=None,
        reported_by=None,
        level=Level.MAJOR,
        level_confirmed=False,
        now=now,
        inspection_ids=[],
        violation_id=violation_id,
        severity=Severity.MAJOR_TO_CONFIRM.value,
        **fields,
    )
    return insert(doc, actor=None, now=now, window=window)


def self_report(actor: Actor, data: dict, *, now: datetime) -> dict:
    """The fields of a hazard an enterprise reports about itself (企业自查上报), pushed from
    a phone; a major it reports awaits a supervisor's confirmation."""
    if actor.role is not Role.ENTERPRISE_MANAGER:
        raise Forbidden("only an enterprise's manager reports its own hazards")
    doc = _new(
        hazard_id=None,
        source=Source.SELF_REPORT,
        enterprise_id=actor.enterprise_id,
        jurisdiction_id=actor.jurisdiction_id,
        inspector_id=None,
        reported_by=actor.user_id,
        level=data["level"],
        level_confirmed=data["level"] == Level.GENERAL,
        now=now,
        description=data["description"],
        place=data.get("place") or {},
        photos=list(data.get("photos") or ()),
        inspection_ids=[],
    )
    # The push engine adds id, version and its bookkeeping.
    for key in (
        "_id",
        "version",
        "mutation_ids",
        "created_at",
        "updated_at",
        "received_at",
        "sync_seq",
        "sync_rev",
    ):
        doc.pop(key)
    return doc


def assignable_inspector(inspector_id, jurisdiction_id) -> ObjectId | None:
    """The id of an active inspector of the jurisdiction (None for none named); NotFound for
    anyone else."""
    if inspector_id is None:
        return None
    oid = ObjectId(str(inspector_id)) if ObjectId.is_valid(str(inspector_id)) else None
    found = User._get_collection().find_one(
        {"_id": oid}, {"role": 1, "jurisdiction_id": 1, "active": 1}
    )
    if (
        found is None
        or found.get("role") != Role.INSPECTOR.value
        or found.get("jurisdiction_id") != jurisdiction_id
        or not found.get("active", True)
    ):
        raise NotFound(f"inspector {inspector_id} not found")
    return oid


def visible_enterprise(actor: Actor, enterprise_id) -> dict:
    try:
        oid = ObjectId(str(enterprise_id))
    except Exception:  # noqa: BLE001 - a malformed id answers like an unknown one
        raise NotFound(f"enterprise {enterprise_id} not found") from None
    found = Enterprise._get_collection().find_one(
        {"_id": oid}, {"jurisdiction_id": 1, **{f: 1 for f in Enterprise.audience.fields}}
    )
    if not Enterprise.audience.allows(actor, found):
        raise NotFound(f"enterprise {enterprise_id} not found")
    return found
