"""The review queue: what awaits a supervisor's decision in their jurisdiction (admins: all),
oldest first, filterable by enterprise, campaign, hazard level, inspector and regime.

Three kinds of entries: a submitted inspection not yet decided (decided here,
server.services.review.decisions); a hazard's rectification report (`reported`: the firm says
it is done); and a major's close-out application (16号令 Art.18) awaiting the regulator's
approval. Hazard entries link to the hazard's own review page, where hazards are decided.

The queue is read in two steps: every waiting object, lightly (enough to filter and order),
then the full entry — photos, places, what changed — only for the page shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bson import ObjectId

from server.actor import Actor
from server.errors import Forbidden
from server.models.enterprise import Enterprise
from server.models.hazard import Hazard, Level
from server.models.inspection import Inspection, Status
from server.models.user import User
from server.services.hazards import states
from server.services.hazards.register import LEVELS
from server.services.review import changes, evidence
from server.services.review.decisions import REVIEWING_ROLES

INSPECTION, RECTIFICATION, CLOSEOUT = "inspection", "rectification", "closeout"
KINDS = (INSPECTION, RECTIFICATION, CLOSEOUT)


@dataclass(frozen=True)
class Filters:
    enterprise_id: ObjectId | None = None
    #: A checklist code (CS, HW, FH, OC: one campaign each).
    campaign: str | None = None
    level: str | None = None
    inspector_id: ObjectId | None = None
    regime: str | None = None
    kind: str | None = None


@dataclass
class Entry:
    kind: str
    id: str
    enterprise_id: ObjectId
    checklist_code: str | None
    inspector_id: ObjectId | None
    level: str | None
    regime: str | None
    waiting_since: datetime
    raw: dict
    enterprise_name: str | None = None
    inspector_name: str | None = None
    received_at: datetime | None = None
    evidence: evidence.Evidence | None = None
    changes: changes.Changes | None = None
    #: Failed items of an inspection, and the hazard's state.
    failed_items: list[str] = field(default_factory=list)
    state: str | None = None


def pending(actor: Actor, filters: Filters = Filters()) -> Queue:
    """What awaits `actor`'s decision, oldest first (a pageable list: `count()`, slices)."""
    if actor.role not in REVIEWING_ROLES:
        raise Forbidden("the review queue is the supervisors'")
    entries = []
    if filters.kind in (None, INSPECTION):
        entries += _inspections(actor, filters)
    if filters.kind != INSPECTION:
        entries += [e for e in _hazards(actor, filters) if filters.kind in (None, e.kind)]
    entries.sort(key=lambda e: (e.waiting_since, e.id))
    return Queue(entries)


class Queue:
    """The waiting entries; a slice of it is filled in (evidence, changes, names)."""

    def __init__(self, entries: list[Entry]):
        self._entries = entries

    def count(self) -> int:
        return len(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, window: slice) -> list[Entry]:
        return fill(self._entries[window])


def fill(entries: list[Entry]) -> list[Entry]:
    """Give each entry its evidence, what changed since the last review, and names."""
    inspections = [e.raw for e in entries if e.kind == INSPECTION]
    hazards = [e.raw for e in entries if e.kind != INSPECTION]
    shown = {**evidence.for_inspections(inspections), **evidence.for_hazards(hazards)}
    corrected_ids = [r["corrects"] for r in inspections if r.get("corrects")]
    corrected = {
        r["_id"]: r
        for r in Inspection._get_collection().find(
            {"_id": {"$in": corrected_ids}}, {"answers": 1, "review": 1}
        )
    }
    names = _names(Enterprise, {e.enterprise_id for e in entries}, "name")
    people = _names(User, {e.inspector_id for e in entries if e.inspector_id}, "display_name")
    for entry in entries:
        entry.evidence = shown[entry.id]
        entry.enterprise_name = names.get(entry.enterprise_id)
        entry.inspector_name = people.get(entry.inspector_id)
        if entry.kind == INSPECTION:
            entry.changes = changes.since_last_review(
                entry.raw, corrected.get(entry.raw.get("corrects"))
            )
    return entries


def level_of(inspection: dict) -> str | None:
    """The gravest failed item's level, as the register makes each into a hazard
    (register.LEVELS: major to confirm counts as major); None: nothing failed."""
    levels = {
        LEVELS[s][0]
        for a in (inspection.get("answers") or {}).values()
        if (s := a.get("severity")) in LEVELS
    }
    return Level.MAJOR if Level.MAJOR in levels else (Level.GENERAL if levels else None)


def _inspections(actor: Actor, filters: Filters) -> list[Entry]:
    found = Inspection.objects.for_actor(actor).filter(status=Status.SUBMITTED, deleted_at=None)
    found = _narrowed(found, filters)
    entries = []
    for raw in found.exclude("mutation_ids").as_pymongo():
        level = level_of(raw)
        regime = (raw.get("judged_under") or {}).get("regime")
        if filters.level and level != filters.level:
            continue
        if filters.regime and regime != filters.regime:
            continue
        entries.append(
            Entry(
                kind=INSPECTION,
                id=raw["_id"],
                enterprise_id=raw["enterprise_id"],
                checklist_code=raw.get("checklist_code"),
                inspector_id=raw.get("inspector_id"),
                level=level,
                regime=regime,
                waiting_since=raw.get("submitted_at") or raw["received_at"],
                received_at=raw.get("received_at"),
                raw=raw,
                failed_items=sorted(
                    code for code, a in (raw.get("answers") or {}).items() if a.get("severity")
                ),
            )
        )
    return entries


def _hazards(actor: Actor, filters: Filters) -> list[Entry]:
    found = Hazard.objects.for_actor(actor).filter(state__in=[states.REPORTED, states.REINSPECTION])
    found = _narrowed(found, filters)
    if filters.level:
        found = found.filter(level=filters.level)
    raws = list(found.exclude("mutation_ids").as_pymongo())
    regimes = _names(Enterprise, {r["enterprise_id"] for r in raws}, "regime")
    entries = []
    for raw in raws:
        application = raw.get("closeout_application")
        if application and raw["level"] == Level.MAJOR:
            kind, since = CLOSEOUT, application.get("at")
        elif raw["state"] == states.REPORTED:
            kind, since = RECTIFICATION, _reported_at(raw)
        else:
            continue  # being re-inspected: the inspector's turn, not the supervisor's
        regime = regimes.get(raw["enterprise_id"])
        if filters.regime and regime != filters.regime:
            continue
        entries.append(
            Entry(
                kind=kind,
                id=raw["_id"],
                enterprise_id=raw["enterprise_id"],
                checklist_code=raw.get("checklist_code"),
                inspector_id=raw.get("inspector_id"),
                level=raw["level"],
                regime=regime,
                waiting_since=since or raw["updated_at"],
                received_at=raw.get("received_at"),
                raw=raw,
                state=raw["state"],
            )
        )
    return entries


def _narrowed(found, filters: Filters):
    """The filters both kinds of entry carry as fields of their own (enterprise, campaign: the
    checklist, inspector)."""
    if filters.enterprise_id:
        found = found.filter(enterprise_id=filters.enterprise_id)
    if filters.campaign:
        found = found.filter(checklist_code=filters.campaign)
    if filters.inspector_id:
        found = found.filter(inspector_id=filters.inspector_id)
    return found


def _reported_at(hazard: dict) -> datetime | None:
    reports = [h for h in hazard.get("history") or () if h.get("to") == states.REPORTED]
    return reports[-1].get("at") if reports else None


def _names(model, ids, field_name: str) -> dict:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    found = model._get_collection().find({"_id": {"$in": wanted}}, {field_name: 1})
    return {raw["_id"]: raw.get(field_name) for raw in found}
