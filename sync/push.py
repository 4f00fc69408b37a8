"""Push: a batch of mutations from a phone, each answered with a receipt, exactly once.

Receipts: `applied`; `duplicate` (a mutation id seen before: its first receipt again, with
`first_status`); `conflict` (sync.policy said no; carries the server's current copy);
`rejected` (a problem document: the phone marks the record "needs attention" and moves on —
the queue never wedges). One bad record never blocks the others.

Exactly-once effect over at-least-once delivery, without transactions: each change records
its mutation id on the inspection itself in the same atomic write (`mutation_ids`), and the
receipt is written afterwards. If the server dies between the two, the replay finds the id
on the document and answers `applied` again instead of applying twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from checklists.versions import pinned_template
from media.blobstore import BlobStore
from server.actor import Actor, Role
from server.errors import DomainError, Forbidden, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.inspection import Status
from server.models.inspection import feed_scope as inspection_scope
from server.models.inspection import feed_visible as inspection_visible
from server.models.synced import mark_dirty
from server.services.inspections import judge_answers, submission_problems
from sync import mutation
from sync.collections import BY_NAME
from sync.policy import Verdict, decide_change

log = logging.getLogger(__name__)

RECEIPTS = "sync_receipts"
INSPECTIONS = "inspections"
#: How many recent mutation ids an inspection remembers for crash-safe replays.
MUTATION_MEMORY = 100


@dataclass(frozen=True)
class PushContext:
    db: Database
    blobs: BlobStore
    actor: Actor
    device_id: str
    now: datetime
    #: Device clock minus server clock for this push, in seconds (None if not reported).
    clock_offset_s: float | None = None


def push(ctx: PushContext, mutations: list) -> list[dict]:
    """Apply `mutations` in order; one receipt per mutation, in the same order."""
    ids = [m.get("mutation_id") for m in mutations if isinstance(m, dict)]
    stored = {
        r["_id"]: r
        for r in ctx.db[RECEIPTS].find({"_id": {"$in": [i for i in ids if isinstance(i, str)]}})
    }
    receipts, fresh, this_batch = [], [], {}
    for raw in mutations:
        mid = raw.get("mutation_id") if isinstance(raw, dict) else None
        if isinstance(mid, str) and mid in stored:
            receipts.append(_replayed(ctx, stored[mid]))
            continue
        if isinstance(mid, str) and mid in this_batch:
            receipts.append(_duplicate(this_batch[mid]))
            continue
        receipt, remember = _apply(ctx, raw)
        receipts.append(receipt)
        if remember:
            this_batch[mid] = receipt
            fresh.append(
                {
                    "_id": mid,
                    "user_id": ctx.actor.user_id,
                    "device_id": ctx.device_id,
                    "receipt": receipt,
                    "at": ctx.now,
                }
            )
    if fresh:
        try:
            ctx.db[RECEIPTS].insert_many(fresh, ordered=False)
        except BulkWriteError:
            pass  # the same mutation arrived twice at once: the first receipt stands
        mark_dirty(INSPECTIONS)
    return receipts


def _replayed(ctx: PushContext, stored: dict) -> dict:
    if stored["user_id"] != ctx.actor.user_id:
        return _rejected(
            stored["_id"],
            _problem(409, "Conflict", "conflict", "this mutation id was used by someone else"),
        )
    return _duplicate(stored["receipt"])


def _duplicate(first: dict) -> dict:
    return {
        **first,
        "status": "duplicate",
        "first_status": first.get("first_status", first["status"]),
    }


def _apply(ctx: PushContext, raw) -> tuple[dict, bool]:
    """The receipt of one new mutation, and whether to remember it for replays."""
    mid = raw.get("mutation_id") if isinstance(raw, dict) else None
    try:
        m = mutation.parse(raw)
    except DomainError as exc:
        # Not remembered: a malformed record has no trustworthy id to replay by.
        return _rejected(mid if isinstance(mid, str) else None, _problem_of(exc)), False
    try:
        if m["op"] == "create":
            return _create(ctx, m), True
        return _change(ctx, m), True
    except DomainError as exc:
        return _rejected(m["mutation_id"], _problem_of(exc)), True


def _create(ctx: PushContext, m: dict) -> dict:
    actor, data = ctx.actor, m["data"]
    if actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
        raise _forbidden("only inspectors and supervisors make inspections")
    enterprise = (
        Enterprise.objects.for_actor(actor)
        .filter(id=data["enterprise_id"])
        .only("jurisdiction_id")
        .first()
    )
    if enterprise is None:
        raise NotFound(f"enterprise {data['enterprise_id']} not found")
    template = pinned_template(data["checklist_code"], data["checklist_version"])
    judged = judge_answers(template, data.get("answers") or {})
    if "corrects" in data:
        _check_correctable(ctx, data["corrects"])
    missing = ctx.blobs.missing(judged.photos)
    doc = {
        "_id": m["id"],
        "checklist_code": data["checklist_code"],
        "checklist_version": data["checklist_version"],
        "enterprise_id": enterprise.id,
        "jurisdiction_id": enterprise.jurisdiction_id,
        "inspector_id": actor.user_id,
        "device_id": ctx.device_id,
        "status": Status.DRAFT,
        "unannounced": data.get("unannounced", False),
        "answers": judged.answers,
        "note": data.get("note"),
        "location": data.get("location"),
        "started_at_device": data.get("started_at_device"),
        "device_time": data.get("device_time"),
        "received_at": ctx.now,
        "clock_offset_s": ctx.clock_offset_s,
        "photos": judged.photos,
        "missing_photos": missing,
        "photos_complete": not missing,
        "corrects": data.get("corrects"),
        "version": 1,
        "mutation_ids": [f"{m['mutation_id']}@1"],
        "created_at": ctx.now,
        "updated_at": ctx.now,
        "sync_seq": None,
        "sync_rev": 1,
    }
    try:
        ctx.db[INSPECTIONS].insert_one(doc)
    except DuplicateKeyError:
        current = ctx.db[INSPECTIONS].find_one({"_id": m["id"]})
        recorded = _recorded_version(current, m["mutation_id"])
        if recorded is not None:
            return _applied(m, recorded, current)
        if current is None or not inspection_visible(actor, inspection_scope(current)):
            raise NotFound(f"inspection {m['id']} exists and is not yours") from None
        return _conflict(m, "EXISTS", "an inspection with this id exists already", current)
    return _applied(m, 1, doc)


def _change(ctx: PushContext, m: dict) -> dict:
    actor, data, inspections = ctx.actor, m["data"], ctx.db[INSPECTIONS]
    current = inspections.find_one({"_id": m["id"]})
    if current is not None and not inspection_visible(actor, inspection_scope(current)):
        current = None
    recorded = _recorded_version(current, m["mutation_id"])
    if recorded is not None:  # applied before; its receipt was lost
        return _applied(m, recorded, current)
    decision = decide_change(current, actor, m["base_version"])
    if decision.verdict is Verdict.REJECT:
        if decision.reason == "NOT_FOUND":
            raise NotFound(f"inspection {m['id']} not found")
        raise _forbidden(decision.detail)
    if decision.verdict is Verdict.CONFLICT:
        return _conflict(m, decision.reason, decision.detail, current)

    new_version = current["version"] + 1
    changes: dict = {"updated_at": ctx.now, "received_at": ctx.now, "sync_seq": None}
    if ctx.clock_offset_s is not None:
        changes["clock_offset_s"] = ctx.clock_offset_s
    for field in ("unannounced", "note", "location", "device_time"):
        if field in data:
            changes[field] = data[field]
    answers = current.get("answers") or {}
    template = pinned_template(current["checklist_code"], current["checklist_version"])
    if "answers" in data:
        judged = judge_answers(template, data["answers"])
        answers = judged.answers
        changes["answers"] = answers
        changes["photos"] = judged.photos
        missing = ctx.blobs.missing(judged.photos)
        changes["missing_photos"] = missing
        changes["photos_complete"] = not missing
    if m["op"] == "submit":
        reasons = submission_problems(template, answers)
        if reasons:
            raise _rule("the inspection is not complete enough to submit", reasons)
        changes.update(status=Status.SUBMITTED, submitted_at=ctx.now)
        if "submitted_at_device" in data:
            changes["submitted_at_device"] = data["submitted_at_device"]
    elif m["op"] == "delete":
        changes["deleted_at"] = ctx.now
    result = inspections.update_one(
        {"_id": m["id"], "version": m["base_version"], "status": Status.DRAFT, "deleted_at": None},
        {
            "$set": changes,
            "$inc": {"version": 1, "sync_rev": 1},
            "$push": {
                "mutation_ids": {
                    "$each": [f"{m['mutation_id']}@{new_version}"],
                    "$slice": -MUTATION_MEMORY,
                }
            },
        },
    )
    if result.matched_count == 0:  # changed between our read and our write: decide again
        return _change(ctx, m)
    return _applied(m, new_version, {**current, **changes, "version": new_version})


def _check_correctable(ctx: PushContext, original_id: str) -> None:
    original = ctx.db[INSPECTIONS].find_one({"_id": original_id})
    if original is None or not inspection_visible(ctx.actor, inspection_scope(original)):
        raise NotFound(f"inspection {original_id} not found")
    if original.get("status") != Status.SUBMITTED:
        raise _rule(
            "only a submitted inspection is corrected; edit the draft instead",
            [{"code": "NOT_SUBMITTED", "inspection": original_id}],
        )


def _recorded_version(current: dict | None, mutation_id: str) -> int | None:
    for entry in (current or {}).get("mutation_ids") or ():
        mid, _, version = entry.partition("@")
        if mid == mutation_id:
            return int(version)
    return None


def _applied(m: dict, version: int, doc: dict) -> dict:
    return {
        "mutation_id": m["mutation_id"],
        "status": "applied",
        "collection": m["collection"],
        "id": m["id"],
        "version": version,
        "missing_photos": list(doc.get("missing_photos") or []),
        "photos_complete": bool(doc.get("photos_complete", True)),
    }


def _conflict(m: dict, reason: str, detail: str, current: dict) -> dict:
    return {
        "mutation_id": m["mutation_id"],
        "status": "conflict",
        "collection": m["collection"],
        "id": m["id"],
        "reason": reason,
        "detail": detail,
        "server_copy": BY_NAME[m["collection"]].to_phone(current),
    }


def _rejected(mutation_id: str | None, problem: dict) -> dict:
    return {"mutation_id": mutation_id, "status": "rejected", "problem": problem}


def _problem(status: int, title: str, slug: str, detail: str, **members) -> dict:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in members.items() if v is not None})
    return body


def _problem_of(exc: DomainError) -> dict:
    return _problem(
        exc.status, exc.title, exc.type_slug, exc.detail, errors=exc.errors, reasons=exc.reasons
    )


def _forbidden(detail: str) -> DomainError:
    return Forbidden(detail)


def _rule(detail: str, reasons: list[dict]) -> DomainError:
    return RuleViolation(detail, reasons=reasons)
