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
from pymongo.errors import BulkWriteError

from checklists.versions import pinned_template
from media.blobstore import BlobStore
from server.actor import Actor, Role
from server.errors import DomainError, Forbidden, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.inspection import Status
from server.models.inspection import feed_scope as inspection_scope
from server.models.inspection import feed_visible as inspection_visible
from server.models.synced import mark_dirty
from server.services.inspections import judge_answers, photos_arrived, submission_problems
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
    #: Offsets beyond this many seconds flag the inspection (CLOCK_SKEW_SECONDS).
    skew_limit_s: float = 600

    @property
    def clock_skewed(self) -> bool | None:
        """Whether the device clock was off by more than the limit (None: unknown)."""
        if self.clock_offset_s is None:
            return None
        return abs(self.clock_offset_s) > self.skew_limit_s


def push(ctx: PushContext, mutations: list) -> list[dict]:
    """Apply `mutations` in order; one receipt per mutation, in the same order.

    Consecutive creates are inserted with one `insert_many`; any other mutation first flushes
    the creates before it, so the batch still applies in order.
    """
    mids = [_mutation_id(raw) for raw in mutations]
    stored = {r["_id"]: r for r in ctx.db[RECEIPTS].find({"_id": {"$in": [i for i in mids if i]}})}
    slots: list[dict | None] = [None] * len(mutations)
    first: dict[str, int] = {}  # mutation id -> its first slot in this batch
    creates: list[tuple[int, dict, dict]] = []  # (slot, mutation, document to insert)
    enterprises: dict[str, Enterprise | None] = {}
    for i, (raw, mid) in enumerate(zip(mutations, mids, strict=True)):
        if mid in stored:
            slots[i] = _replayed(ctx, stored[mid])
            continue
        if mid in first:
            continue  # the same mutation twice in one batch: answered like its first copy
        try:
            m = mutation.parse(raw)
        except DomainError as exc:
            # Not remembered: a malformed record has no trustworthy id to replay by.
            slots[i] = _rejected(mid, _problem_of(exc))
            continue
        first[mid] = i
        try:
            if m["op"] == "create":
                creates.append((i, m, _prepare_create(ctx, m, enterprises)))
                continue
            _insert_creates(ctx, creates, slots)
            creates = []
            slots[i] = _change(ctx, m)
        except DomainError as exc:
            slots[i] = _rejected(m["mutation_id"], _problem_of(exc))
    _insert_creates(ctx, creates, slots)
    for i, mid in enumerate(mids):
        if slots[i] is None:
            slots[i] = _duplicate(slots[first[mid]])
    fresh = [
        {
            "_id": mid,
            "user_id": ctx.actor.user_id,
            "device_id": ctx.device_id,
            "receipt": slots[i],
            "at": ctx.now,
        }
        for mid, i in first.items()
    ]
    if fresh:
        try:
            ctx.db[RECEIPTS].insert_many(fresh, ordered=False)
        except BulkWriteError:
            pass  # the same mutation arrived twice at once: the first receipt stands
        mark_dirty(INSPECTIONS)
    return slots


def _mutation_id(raw) -> str | None:
    mid = raw.get("mutation_id") if isinstance(raw, dict) else None
    return mid if isinstance(mid, str) and mid else None


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


def _prepare_create(ctx: PushContext, m: dict, enterprises: dict) -> dict:
    """The inspection document a create will insert; DomainError when it may not."""
    actor, data = ctx.actor, m["data"]
    if actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
        raise Forbidden("only inspectors and supervisors make inspections")
    if data["enterprise_id"] not in enterprises:
        enterprises[data["enterprise_id"]] = (
            Enterprise.objects.for_actor(actor)
            .filter(id=data["enterprise_id"])
            .only("jurisdiction_id")
            .first()
        )
    enterprise = enterprises[data["enterprise_id"]]
    if enterprise is None:
        raise NotFound(f"enterprise {data['enterprise_id']} not found")
    template = pinned_template(data["checklist_code"], data["checklist_version"])
    judged = judge_answers(template, data.get("answers") or {})
    if "corrects" in data:
        _check_correctable(ctx, data["corrects"])
    missing = ctx.blobs.missing(judged.photos)
    return {
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
        "clock_skewed": ctx.clock_skewed,
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


def _insert_creates(ctx: PushContext, creates: list, slots: list) -> None:
    """Insert prepared creates in one command and fill in their receipts."""
    if not creates:
        return
    inspections = ctx.db[INSPECTIONS]
    try:
        inspections.insert_many([doc for _i, _m, doc in creates], ordered=False)
    except BulkWriteError:
        # Some ids existed. The embedded server's reply cannot be trusted to say which, so
        # look at what is stored: a document carrying this mutation id is this create.
        stored = {
            d["_id"]: d
            for d in inspections.find({"_id": {"$in": [doc["_id"] for _i, _m, doc in creates]}})
        }
        for i, m, _doc in creates:
            slots[i] = _existing_create(ctx, m, stored.get(m["id"]))
        return
    _recheck_photos(ctx, [doc for _i, _m, doc in creates])
    for i, m, doc in creates:
        slots[i] = _applied(m, 1, doc)


def _recheck_photos(ctx: PushContext, docs: list[dict]) -> None:
    """A photo that finished uploading between the manifest check and the write found no
    missing entry to strike off: strike it now, or the inspection would wait for ever."""
    waiting = {h for doc in docs for h in doc.get("missing_photos") or ()}
    if not waiting:
        return
    arrived = waiting - set(ctx.blobs.missing(waiting))
    for doc in docs:
        here = [h for h in doc.get("missing_photos") or () if h in arrived]
        if here and photos_arrived(doc["_id"], here):
            doc["missing_photos"] = [h for h in doc["missing_photos"] if h not in arrived]
            doc["photos_complete"] = not doc["missing_photos"]


def _existing_create(ctx: PushContext, m: dict, current: dict | None) -> dict:
    if _recorded_version(current, m["mutation_id"]) is not None:
        return _applied(m, 1, current)
    if current is None or not inspection_visible(ctx.actor, inspection_scope(current)):
        return _rejected(m["mutation_id"], _problem_of(NotFound(f"inspection {m['id']} not found")))
    return _conflict(m, "EXISTS", "an inspection with this id exists already", current)


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
        raise Forbidden(decision.detail)
    if decision.verdict is Verdict.CONFLICT:
        return _conflict(m, decision.reason, decision.detail, current)

    new_version = current["version"] + 1
    changes: dict = {"updated_at": ctx.now, "received_at": ctx.now, "sync_seq": None}
    if ctx.clock_offset_s is not None:
        changes["clock_offset_s"] = ctx.clock_offset_s
        changes["clock_skewed"] = ctx.clock_skewed
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
            raise RuleViolation("the inspection is not complete enough to submit", reasons=reasons)
        changes.update(status=Status.SUBMITTED, submitted_at=ctx.now)
        if "submitted_at_device" in data:
            changes["submitted_at_device"] = data["submitted_at_device"]
    elif m["op"] == "delete":
        changes["deleted_at"] = ctx.now
    # Compare-and-set on exactly (_id, sync_rev), answered from a unique index on every
    # server: every write bumps sync_rev, so an unchanged one means the inspection is still
    # exactly as decided on above.
    result = inspections.update_one(
        {"_id": m["id"], "sync_rev": current.get("sync_rev", 0)},
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
    updated = {**current, **changes, "version": new_version}
    _recheck_photos(ctx, [updated])
    return _applied(m, new_version, updated)


def _check_correctable(ctx: PushContext, original_id: str) -> None:
    original = ctx.db[INSPECTIONS].find_one({"_id": original_id})
    if original is None or not inspection_visible(ctx.actor, inspection_scope(original)):
        raise NotFound(f"inspection {original_id} not found")
    if original.get("status") != Status.SUBMITTED:
        raise RuleViolation(
            "only a submitted inspection is corrected; edit the draft instead",
            reasons=[{"code": "NOT_SUBMITTED", "inspection": original_id}],
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
