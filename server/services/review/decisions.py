"""Decisions on submitted inspections: a supervisor approves one, or returns it with a reason
per item; the inspector's phone receives the decision through the feed (the inspection's
`review` and a `review_decisions` document) and answers a return with a correction, a new
inspection whose `corrects` names the returned one. Approving a correction closes the thread.

A decision is one compare-and-set on the inspection (unchanged since read): submitted, at the
version the reviewer saw → approved or returned, version + 1, with the decision as its
`review`. Another decision in between, or a version the reviewer did not see, is a Conflict
(409), never a silent overwrite. The decision's id is the client's (a UUID): the same
decision sent again answers the first one's result, and finishes what a crash between the
steps left undone (the decision document, the audit event, keyed by the decision id).
"""

from __future__ import annotations

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from server.actor import Actor, Role
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.models.inspection import Inspection, Status
from server.models.review_decision import ReviewDecision
from server.models.synced import changed_fields, mark_dirty, new_fields
from server.services.audit import record

#: Who decides reviews.
REVIEWING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
VERDICTS = Status.REVIEWED
REASON_MAX = 500
NOTE_MAX = 2000
#: How far a thread of corrections is followed back to its first record.
THREAD_MAX = 100
#: Audit actions by verdict.
ACTIONS = {Status.APPROVED: "inspection.approve", Status.RETURNED: "inspection.return"}


def decide(
    actor: Actor,
    inspection_id: str,
    *,
    decision_id: str,
    verdict: str,
    inspection_version: int,
    reasons: dict[str, str] | None = None,
    note: str | None = None,
    now: datetime,
) -> dict:
    """Approve or return a submitted inspection; returns the decision (raw, with `id`)."""
    if actor.role not in REVIEWING_ROLES:
        raise Forbidden("only supervisors and admins decide reviews")
    collection = Inspection._get_collection()
    current = collection.find_one({"_id": str(inspection_id)})
    if not Inspection.audience.allows(actor, current) or current.get("deleted_at"):
        raise NotFound(f"inspection {inspection_id} not found")
    if (current.get("review") or {}).get("decision_id") == decision_id:
        return _settle(actor, current, now=now)  # a retry: the decision was made
    if ReviewDecision._get_collection().find_one({"_id": decision_id}, {"_id": 1}):
        raise Conflict(
            f"decision {decision_id} was made on another inspection; send a new decision id"
        )
    if current["status"] != Status.SUBMITTED:
        raise Conflict(
            f"inspection {inspection_id} is {current['status']}, not awaiting review",
            reasons=[{"code": "NOT_AWAITING_REVIEW", "status": current["status"]}],
        )
    if inspection_version != current["version"]:
        raise Conflict(
            f"decided on version {inspection_version}; the inspection has version "
            f"{current['version']}: reload it",
            reasons=[{"code": "STALE_VERSION", "version": current["version"]}],
        )
    reasons = reasons or {}
    problems = reason_problems(current, verdict, reasons, note)
    if problems:
        raise RuleViolation("the decision is incomplete", errors=problems)
    review = {
        "decision_id": decision_id,
        "verdict": verdict,
        "reasons": {code: text.strip() for code, text in reasons.items()},
        "note": (note or "").strip() or None,
        "by": actor.user_id,
        "at": now,
    }
    changed = changed_fields()
    done = collection.update_one(
        # (_id, sync_rev) is what every server answers from an index; every write bumps
        # sync_rev, so an unchanged one means still submitted at this version.
        {"_id": current["_id"], "sync_rev": current.get("sync_rev", 0)},
        {
            "$set": {**changed["$set"], "status": verdict, "review": review, "updated_at": now},
            "$inc": {**changed["$inc"], "version": 1},
        },
    )
    if not done.matched_count:
        raise Conflict(f"inspection {inspection_id} changed meanwhile; reload it")
    mark_dirty(collection.name)
    return _settle(actor, collection.find_one({"_id": current["_id"]}), before=current, now=now)


def reason_problems(
    inspection: dict, verdict: str, reasons: dict[str, str], note: str | None
) -> list[dict]:
    """Why this decision cannot be taken as sent (empty: it can): a return names at least one
    answered item, each with a reason; an approval names none."""
    errors = []
    if verdict not in VERDICTS:
        errors.append(_error("verdict", f"one of {', '.join(VERDICTS)}"))
    answered = inspection.get("answers") or {}
    if verdict == Status.RETURNED and not reasons:
        errors.append(_error("reasons", "a return names each item returned, with its reason"))
    if verdict == Status.APPROVED and reasons:
        errors.append(_error("reasons", "an approval returns no item"))
    for code, text in reasons.items():
        if code not in answered:
            errors.append(_error(f"reasons.{code}", "not an item answered in this inspection"))
        elif not isinstance(text, str) or not text.strip() or len(text) > REASON_MAX:
            errors.append(_error(f"reasons.{code}", f"1 to {REASON_MAX} characters"))
    if note is not None and len(note) > NOTE_MAX:
        errors.append(_error("note", f"at most {NOTE_MAX} characters"))
    return errors


def thread_of(inspection: dict) -> str:
    """The first record of the chain of corrections `inspection` belongs to."""
    collection = Inspection._get_collection()
    current = inspection
    for _ in range(THREAD_MAX):
        earlier = current.get("corrects")
        found = collection.find_one({"_id": earlier}, {"corrects": 1}) if earlier else None
        if found is None:
            break
        current = found
    return current["_id"]


def on_inspection(actor: Actor, inspection_id: str) -> list[dict]:
    """The decisions on one inspection, oldest first, for those who see its decisions (its
    reviewers and its inspector); NotFound for anyone else."""
    raw = Inspection._get_collection().find_one({"_id": str(inspection_id)})
    if (
        not Inspection.audience.allows(actor, raw)
        or actor.role not in ReviewDecision.audience.rules
    ):
        raise NotFound(f"inspection {inspection_id} not found")
    found = ReviewDecision.objects.for_actor(actor).filter(inspection_id=str(inspection_id))
    return [_with_id(raw) for raw in found.order_by("decided_at").as_pymongo()]


def _settle(actor: Actor, after: dict, *, now: datetime, before: dict | None = None) -> dict:
    """The decision document and the audit event of the decision `after` carries (each once,
    however often this runs)."""
    review = after["review"]
    decisions = ReviewDecision._get_collection()
    decision = decisions.find_one({"_id": review["decision_id"]})
    if decision is None:
        decision = {
            "_id": review["decision_id"],
            "inspection_id": after["_id"],
            "inspection_version": after["version"],
            "thread_id": thread_of(after),
            "verdict": review["verdict"],
            "reasons": review["reasons"],
            "note": review["note"],
            "enterprise_id": after["enterprise_id"],
            "jurisdiction_id": after["jurisdiction_id"],
            "inspector_id": after["inspector_id"],
            "reviewer_id": review["by"],
            "decided_at": review["at"],
            "created_at": now,
            "updated_at": now,
            **new_fields(),
        }
        try:
            decisions.insert_one(decision)
        except DuplicateKeyError:
            decision = decisions.find_one({"_id": review["decision_id"]})
        mark_dirty(decisions.name)
    if before is None:  # a retry: the state it was decided from, as the decision left it
        before = {**after, "status": Status.SUBMITTED, "review": None}
        before["version"] = after["version"] - 1
    record.record(
        actor,
        ACTIONS[review["verdict"]],
        "inspection",
        after["_id"],
        before=before,
        after=after,
        now=now,
        chain=after["jurisdiction_id"],
        key=f"review.decide:{review['decision_id']}",
    )
    return _with_id(decision)


def _error(field: str, message: str) -> dict:
    return {"field": field, "messages": [message]}


def _with_id(raw: dict) -> dict:
    return {("id" if k == "_id" else k): v for k, v in raw.items()}
