"""Rules of an inspection: who may change it and when, its answers judged against the pinned
checklist version, the photos they name, what must hold before a draft can be submitted, and
how photo evidence arriving later completes it, and which uploads are its evidence at all (the
inspection side of media.links).

Plain functions over plain data, used by the push handler (sync/handlers/inspection.py) and
testable alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from checklists.answer import AnswerError, Outcome, evaluate, severity
from checklists.regime import Conditions, industries
from checklists.template import ChecklistTemplate
from media.links import LinkRef, LinkTarget, arrived_for
from server.actor import Actor, Role
from server.errors import NotFound, RuleViolation
from server.models.inspection import Inspection, Status
from server.models.synced import UUID_PATTERN, changed_fields, mark_dirty

SHA256 = re.compile(r"^[0-9a-f]{64}$")
UUID = re.compile(UUID_PATTERN)
#: Roles that make inspections.
INSPECTING_ROLES = frozenset({Role.INSPECTOR, Role.SUPERVISOR})
NOTE_MAX = 2000
PHOTOS_PER_ITEM_MAX = 20
#: What an answer may carry (`outcome` is the server's and recomputed).
ANSWER_FIELDS = frozenset({"value", "note", "photos", "outcome"})


@dataclass(frozen=True)
class JudgedAnswers:
    """Answers with each item's outcome, and every photo hash they name (in order)."""

    answers: dict[str, dict]
    photos: list[str]


#: What an inspected enterprise is not shown of an inspection: where the inspector stood and
#: from which phone (as for photos, media.links.gps_visible: a party answering a notice must
#: not copy the inspectors' positions into rectification evidence).
HIDDEN_FROM_ENTERPRISES = ("location", "device_id", "clock_offset_s", "clock_skewed")


def shown_to(actor: Actor, inspection: dict) -> dict:
    """The inspection as `actor` may read it (raw document in, raw document out)."""
    return for_enterprises(inspection) if actor.is_enterprise_user else inspection


def for_enterprises(inspection: dict) -> dict:
    """What enterprise users may read of an inspection they may see."""
    return {k: v for k, v in inspection.items() if k not in HIDDEN_FROM_ENTERPRISES}


def visible(actor: Actor, **filters):
    """The inspections `actor` may read, newest first, without deleted drafts; each item is
    the raw document as they may see it (`shown_to`)."""
    found = Inspection.objects.for_actor(actor).filter(deleted_at=None, **filters)
    return _ShownQuery(found.order_by("-received_at"), actor)


def read(actor: Actor, inspection_id: str) -> dict:
    """One inspection as `actor` may read it; NotFound outside their scope."""
    raw = Inspection._get_collection().find_one({"_id": str(inspection_id)})
    if not Inspection.audience.allows(actor, raw) or raw.get("deleted_at") is not None:
        raise NotFound(f"inspection {inspection_id} not found")
    return _with_id(shown_to(actor, raw))


class _ShownQuery:
    """A scoped queryset that pages like one (count, slicing) and yields what the actor may
    read of each inspection."""

    def __init__(self, queryset, actor: Actor):
        self._queryset, self._actor = queryset, actor

    def count(self) -> int:
        return self._queryset.count()

    def __getitem__(self, window):
        raws = self._queryset[window].as_pymongo()
        return [_with_id(shown_to(self._actor, raw)) for raw in raws]


def _with_id(raw: dict) -> dict:
    return {("id" if k == "_id" else k): v for k, v in raw.items()}


def change_refused(actor: Actor, inspection: dict) -> str | None:
    """Why `actor` may not change this inspection at all (None: they may): a draft belongs to
    the inspector who made it, from any of their devices."""
    if inspection.get("inspector_id") != actor.user_id:
        return "only the inspector who made an inspection changes it"
    return None


def is_evidence(inspection: dict) -> bool:
    """A submitted inspection is immutable evidence: corrected by a new inspection, never
    edited."""
    return inspection.get("status") != Status.DRAFT


def conditions_of(enterprise) -> Conditions:
    """What an inspection of `enterprise` made now is judged under (pinned on it)."""
    listed = industries()
    industry = listed.get(getattr(enterprise, "industry_code", None))
    return Conditions(
        regime=enterprise.regime or listed.regime_of(getattr(enterprise, "industry_code", None)),
        altitude_m=getattr(enterprise, "altitude_m", None),
        poisoning_risk=getattr(enterprise, "poisoning_risk", None),
        # An unlisted industry is not known to be one the criteria were written for.
        in_scope=bool(industry and industry.in_scope),
    )


def judge_answers(
    template: ChecklistTemplate, answers: dict, conditions: Conditions | None = None
) -> JudgedAnswers:
    """Validate answers (types, units, ranges) against the template, judged under the
    inspection's pinned `conditions`; RuleViolation naming every bad field. Unanswered items
    are allowed in a draft."""
    errors: list[dict] = []
    judged: dict[str, dict] = {}
    photos: list[str] = []
    if not isinstance(answers, dict):
        raise _invalid([_error("answers", "must be an object keyed by item code")])
    for code, answer in answers.items():
        field = f"answers.{code}"
        try:
            item = template.item(code)
        except KeyError:
            errors.append(_error(field, f"{template.code} has no item {code}"))
            continue
        if not isinstance(answer, dict) or "value" not in answer:
            errors.append(_error(field, "must be an object with a 'value'"))
            continue
        unknown = answer.keys() - ANSWER_FIELDS
        if unknown:
            errors.append(_error(field, f"unknown fields: {', '.join(sorted(unknown))}"))
            continue
        try:
            outcome = evaluate(item, answer["value"], conditions, template.gases)
        except AnswerError as exc:
            errors.append(_error(f"{field}.value", exc.reason))
            continue
        note = answer.get("note")
        if note is not None and (not isinstance(note, str) or len(note) > NOTE_MAX):
            errors.append(_error(f"{field}.note", f"must be text of at most {NOTE_MAX} characters"))
            continue
        item_photos = answer.get("photos") or []
        if (
            not isinstance(item_photos, list)
            or len(item_photos) > PHOTOS_PER_ITEM_MAX
            or not all(isinstance(h, str) and SHA256.match(h) for h in item_photos)
        ):
            errors.append(
                _error(f"{field}.photos", f"must be up to {PHOTOS_PER_ITEM_MAX} SHA-256 hex hashes")
            )
            continue
        judged[code] = {
            "value": answer["value"],
            "note": note,
            "photos": item_photos,
            "outcome": outcome.value,
        }
        if outcome is Outcome.FAIL:
            judged[code]["severity"] = severity(item, outcome, conditions).value
        if item_photos:
            photos.extend(h for h in item_photos if h not in photos)
    if errors:
        raise _invalid(errors)
    return JudgedAnswers(judged, photos)


def submission_problems(
    template: ChecklistTemplate, answers: dict[str, dict], conditions: Conditions | None = None
) -> list[dict]:
    """Why these judged answers cannot be submitted yet (empty when they can): every item
    that applies under the regime answered, and a failed item whose checklist requires a
    photo has one."""
    reasons = []
    for item in template.items:
        answer = answers.get(item.code)
        if answer is None and conditions is not None and not item.applies(conditions.regime):
            continue
        if conditions is not None:
            item = item.for_regime(conditions.regime)
        if answer is None:
            reasons.append({"code": "UNANSWERED", "item": item.code})
        elif (
            answer["outcome"] == Outcome.FAIL
            and item.photo_required_on_fail
            and not answer["photos"]
        ):
            reasons.append({"code": "PHOTO_REQUIRED", "item": item.code})
    return reasons


def _error(field: str, message: str) -> dict:
    return {"field": field, "messages": [message]}


def _invalid(errors: list[dict]) -> RuleViolation:
    summary = "; ".join(f"{e['field']}: {e['messages'][0]}" for e in errors[:3])
    return RuleViolation(f"invalid answers: {summary}", errors=errors)


def photo_link_target(actor: Actor, inspection_id: str) -> LinkTarget | None:
    """Photo evidence may be linked to, and seen through, an inspection the actor may see. A
    submitted inspection is immutable evidence (sync.policy): it still takes the photos its
    answers named (phones submit offline and upload later), and no other."""
    wanted = (*Inspection.audience.fields, "enterprise_id", "started_at_device", "status")
    raw = Inspection._get_collection().find_one(
        {"_id": inspection_id}, {**{f: 1 for f in wanted}, "photos": 1}
    )
    if raw is None and actor.role in INSPECTING_ROLES and UUID.match(str(inspection_id)):
        # Not pushed yet: phones do not control the order in which flaky requests land. The
        # photo is kept (its uploader's) and counts for the inspection once it arrives.
        return LinkTarget(pending=True)
    if not Inspection.audience.allows(actor, raw):
        return None
    return LinkTarget(
        enterprise_id=raw.get("enterprise_id"),
        started_at=raw.get("started_at_device"),
        accepts=frozenset(raw.get("photos") or ()) if is_evidence(raw) else None,
    )


def photos_arrived(inspection_id: str, hashes: list[str]) -> bool:
    """Strike arrived photos off an inspection's missing list; `photos_complete` turns true
    with the last one. Idempotent; returns whether anything changed."""
    collection = Inspection._get_collection()
    arrived = set(hashes)
    while True:
        raw = collection.find_one({"_id": inspection_id}, {"missing_photos": 1, "sync_rev": 1})
        if raw is None:
            return False
        missing = raw.get("missing_photos") or []
        still = [h for h in missing if h not in arrived]
        if len(still) == len(missing):
            return False
        changed = changed_fields()
        result = collection.update_one(
            {"_id": inspection_id, "sync_rev": raw.get("sync_rev", 0)},
            {
                "$set": {**changed["$set"], "missing_photos": still, "photos_complete": not still},
                "$inc": changed["$inc"],
            },
        )
        if result.matched_count:
            mark_dirty(collection.name)
            return True
        # written meanwhile: read again


def photos_present(docs: list[dict]) -> dict[str, set[str]]:
    """Per inspection (raw documents with `_id`, as stored or about to be written), which of
    the photos it names have arrived as its own evidence: uploaded linked to it by someone
    who may see it (its audience). The same bytes uploaded by another tenant, or linked to
    another object, are not its evidence: they count as missing, exactly like a hash nobody
    sent, so a push learns nothing of what other tenants hold."""
    by_id = {d["_id"]: d for d in docs}
    named = {h for d in docs for h in d.get("photos") or ()}
    present: dict[str, set[str]] = defaultdict(set)
    for arrived in arrived_for("inspection", by_id, named):
        doc = by_id[arrived.link_id]
        if (
            arrived.sha256 in (doc.get("photos") or ())
            and arrived.uploader is not None
            and Inspection.audience.allows(arrived.uploader, doc)
        ):
            present[doc["_id"]].add(arrived.sha256)
    return present


def on_photo_arrived(sha256: str, link: LinkRef) -> None:
    """Arrival hook for photos linked to an inspection (registered by the app factory): the
    photo counts if it is the inspection's own evidence (`photos_present`); one that arrived
    ahead of its inspection counts when the push lands instead."""
    wanted = (*Inspection.audience.fields, "photos", "missing_photos")
    raw = Inspection._get_collection().find_one({"_id": link.id}, {f: 1 for f in wanted})
    if raw is None or sha256 not in (raw.get("missing_photos") or ()):
        return
    if sha256 in photos_present([raw]).get(raw["_id"], ()):
        photos_arrived(link.id, [sha256])
