"""One inspection as its reviewer reads it: each answer beside its checklist item, the photo
evidence (server.services.review.evidence), what changed since the last review, and every
decision of its thread so far."""

from __future__ import annotations

from dataclasses import dataclass

from checklists.versions import pinned_template
from server.actor import Actor
from server.errors import NotFound
from server.models.inspection import Inspection, Status
from server.models.review_decision import ReviewDecision
from server.services.inspections import shown_to
from server.services.review import changes, evidence
from server.services.review.decisions import REVIEWING_ROLES, thread_of


@dataclass(frozen=True)
class Answer:
    code: str
    #: The item's text in each locale ({"zh-CN", "en"}).
    text: dict[str, str]
    answer: dict
    photos: list[evidence.PhotoEvidence]
    #: Why the last review returned this item (None: it did not).
    returned_for: str | None


@dataclass(frozen=True)
class InspectionReview:
    raw: dict
    answers: list[Answer]
    evidence: evidence.Evidence
    changes: changes.Changes
    #: Every decision of its thread, oldest first (raw documents).
    decisions: list[dict]
    #: The actor may decide it now.
    decidable: bool


def for_review(actor: Actor, inspection_id: str) -> InspectionReview:
    """The inspection `inspection_id` for review; NotFound outside the actor's scope or when
    their role does not review (an inspector reads their own)."""
    raw = Inspection._get_collection().find_one({"_id": str(inspection_id)})
    if (
        not Inspection.audience.allows(actor, raw)
        or raw.get("deleted_at")
        or raw["status"] == Status.DRAFT
        or actor.role not in ReviewDecision.audience.rules
    ):
        raise NotFound(f"inspection {inspection_id} not found")
    raw = shown_to(actor, raw)
    shown = evidence.for_inspections([raw])[raw["_id"]]
    corrected = None
    if raw.get("corrects"):
        corrected = Inspection._get_collection().find_one({"_id": raw["corrects"]})
    template = pinned_template(raw["checklist_code"], raw["checklist_version"])
    returned = ((raw.get("review") or {}).get("reasons")) or {}
    answers = []
    for item in template.items:
        answer = (raw.get("answers") or {}).get(item.code)
        if answer is None:
            continue
        named = set(answer.get("photos") or ())
        answers.append(
            Answer(
                code=item.code,
                text=item.text.to_dict(),
                answer=answer,
                photos=[p for p in shown.photos if p.sha256 in named],
                returned_for=returned.get(item.code),
            )
        )
    thread = thread_of(raw)
    decided = ReviewDecision.objects.for_actor(actor).filter(thread_id=thread)
    return InspectionReview(
        raw=raw,
        answers=answers,
        evidence=shown,
        changes=changes.since_last_review(raw, corrected),
        decisions=list(decided.order_by("decided_at").as_pymongo()),
        decidable=actor.role in REVIEWING_ROLES and raw["status"] == Status.SUBMITTED,
    )
