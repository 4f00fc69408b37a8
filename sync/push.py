"""Push: a batch of mutations from a phone, each answered with a receipt, exactly once.

Receipts: `applied`; `duplicate` (a mutation id seen before: its first receipt again, with
`first_status`; an applied create's is rebuilt from the document, which carries its mutation
id and can never be created twice, so it costs no stored receipt); `conflict` (sync.policy
said no; carries the server's current copy); `rejected` (a problem document, and whether the
same mutation may succeed later: `retryable` rejections — what it names has not arrived yet —
are not remembered, so the phone sends it again; a final one is marked "needs attention" and
the queue moves on, never wedging). One bad record never blocks the others.

The engine knows no collection: each mutation goes to the push handler registered for its
collection (sync.handler), which says what the operation may do and what it writes. What the
engine guarantees is the same for every collection:

- **Exactly-once effect over at-least-once delivery, without transactions.** Each change
  records `<mutation id>@<version>` on the document itself, in the same atomic write
  (`mutation_ids`), and the receipt is written afterwards. If the server dies between the
  two, the replay finds the id on the document and answers `applied` again instead of
  applying twice.
- **Compare-and-set.** A change is written only if the document is still exactly as it was
  decided on (`_id`, `sync_rev`); otherwise it is decided again on the new state.
- **Jobs with their change.** The outbox entries a change requires (the feed's sequencing,
  the handler's jobs) are staged before the write, witnessed by the same `mutation_ids`
  token, and confirmed after it (server.services.outbox).

Mutations apply in order. Consecutive mutations on distinct documents form a round that is
read, decided and written together (one query per step, not one per mutation); a mutation
on a document already in the round starts the next one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

from pymongo import UpdateOne
from pymongo.database import Database
from pymongo.errors import BulkWriteError

from server.actor import Actor
from server.errors import Conflict, DomainError, Forbidden, NotFound, TooLarge, problem_of
from server.models.synced import mark_dirty, new_fields
from server.services import outbox
from server.services.audit import record as audit
from server.services.audit.event import event as audit_event
from sync import mutation, telemetry
from sync.handler import PushContext, PushHandler, handlers
from sync.policy import Verdict, decide_change

log = logging.getLogger(__name__)

RECEIPTS = "sync_receipts"
#: How many recent mutation ids a document remembers for crash-safe replays.
MUTATION_MEMORY = 100
#: Rejections that depend on what has reached the server so far, not on the mutation: a submit
#: whose create is still in another batch, a create naming an enterprise not yet registered.
#: They are not remembered, so the same mutation id may succeed later.
RETRYABLE = (NotFound,)
#: The outbox job that gives pushed changes their place in the change feed.
SEQUENCE_JOB = "feed.sequence"
APPLIED = "applied"


@dataclass
class _Write:
    """A change decided on and not yet written: the document before and after, and how."""

    slot: int
    m: dict
    handler: PushHandler
    before: dict | None
    after: dict
    token: str
    #: For an update: (filter, update); a create inserts `after`.
    update: tuple[dict, dict] | None = None


@dataclass
class _Round:
    ctx: PushContext
    items: list[tuple[int, dict, PushHandler]] = field(default_factory=list)
    keys: set = field(default_factory=set)

    def touches(self, m: dict, handler: PushHandler) -> bool:
        return (handler.collection, m["id"]) in self.keys

    def add(self, slot: int, m: dict, handler: PushHandler) -> None:
        self.items.append((slot, m, handler))
        self.keys.add((handler.collection, m["id"]))


@dataclass(frozen=True)
class PushResult:
    receipts: list[dict]
    #: Device clock minus server clock for this push, in seconds (None if not reported).
    clock_offset_s: float | None


def receive(
    db: Database, actor: Actor, body: dict, *, now: datetime, skew_limit_s: float
) -> PushResult:
    """A phone's push as it arrives: batch limit, the sending device, its clock, the
    mutations, and what the device reported."""
    mutations = body["mutations"]
    if len(mutations) > mutation.MAX_BATCH:
        raise TooLarge(
            f"{len(mutations)} mutations in one push; send at most {mutation.MAX_BATCH}",
            limit=mutation.MAX_BATCH,
            unit="mutations",
        )
    report = telemetry.Report.of(body)
    device_id = telemetry.arrive(
        actor, body["device_id"], report, now=now, kind="push", skew_limit_s=skew_limit_s
    )
    offset = telemetry.clock_offset(report, now)
    ctx = PushContext(
        db=db,
        actor=actor,
        device_id=device_id,
        now=now,
        clock_offset_s=offset,
        skew_limit_s=skew_limit_s,
    )
    return PushResult(push(ctx, mutations), offset)


def push(ctx: PushContext, mutations: list) -> list[dict]:
    """Apply `mutations` in order; one receipt per mutation, in the same order."""
    mids = [_mutation_id(raw) for raw in mutations]
    stored = {r["_id"]: r for r in ctx.db[RECEIPTS].find({"_id": {"$in": [i for i in mids if i]}})}
    slots: list[dict | None] = [None] * len(mutations)
    first: dict[str, int] = {}  # mutation id -> its first slot in this batch
    creates: set[str] = set()  # mutation ids of the creates among them
    written: set[str] = set()  # collections this push wrote to
    batch = _Round(ctx)
    for i, (raw, mid) in enumerate(zip(mutations, mids, strict=True)):
        if mid in stored:
            slots[i] = _replayed(ctx, stored[mid])
            continue
        if mid in first:
            continue  # the same mutation twice in one batch: answered like its first copy
        try:
            m, handler = mutation.parse(raw, handlers)
        except DomainError as exc:
            # Not remembered: a malformed record has no trustworthy id to replay by.
            slots[i] = _rejected(mid, exc)
            continue
        first[mid] = i
        if m["op"] == "create":
            creates.add(mid)
        if batch.touches(m, handler):
            written |= _apply(batch, slots)
            batch = _Round(ctx)
        batch.add(i, m, handler)
    written |= _apply(batch, slots)
    for i, mid in enumerate(mids):
        if slots[i] is None:
            slots[i] = _duplicate(slots[first[mid]])
    _remember(ctx, {mid: slots[i] for mid, i in first.items()}, creates)
    for collection in written:
        mark_dirty(collection)
    return slots


def _apply(batch: _Round, slots: list) -> set[str]:
    """Decide, stage, write and settle one round; returns the collections written to."""
    ctx = batch.ctx
    if not batch.items:
        return set()
    current = _load(ctx, [(m, h) for _i, m, h in batch.items if m["op"] != "create"])
    writes: list[_Write] = []
    for slot, m, handler in batch.items:
        try:
            decided = _decide(ctx, slot, m, handler, current.get((handler.collection, m["id"])))
        except DomainError as exc:
            slots[slot] = _rejected(m["mutation_id"], exc)
            continue
        if isinstance(decided, _Write):
            writes.append(decided)
        else:
            slots[slot] = decided
    if not writes:
        return set()
    entries = _stage(ctx, writes)
    applied, retry = _write(ctx, writes, slots)
    by_handler = defaultdict(list)
    for w in applied:
        by_handler[w.handler].append(w)
    for handler, done in by_handler.items():
        handler.settle(ctx, [w.after for w in done])
        for w in done:
            slots[w.slot] = _applied(w.m, handler, w.after["version"], w.after)
    _settle_entries(ctx, entries, {w.token for w in applied})
    collections = {w.handler.collection for w in applied}
    for w in retry:  # written meanwhile by someone else: decided again on the new state
        again = _Round(ctx)
        again.add(w.slot, w.m, w.handler)
        collections |= _apply(again, slots)
    return collections


def _load(ctx: PushContext, changes: list[tuple[dict, PushHandler]]) -> dict:
    """The current documents the changes name, one query per collection."""
    ids = defaultdict(list)
    for m, handler in changes:
        ids[handler.collection].append(m["id"])
    found = {}
    for collection, wanted in ids.items():
        for doc in ctx.db[collection].find({"_id": {"$in": wanted}}).batch_size(len(wanted)):
            found[(collection, doc["_id"])] = doc
    return found


def _decide(ctx, slot, m, handler: PushHandler, current: dict | None):
    """A `_Write` to make, or the receipt when there is nothing to write."""
    mid, now = m["mutation_id"], ctx.now
    if m["op"] == "create":
        same = handler.original(ctx, m["data"])
        if same is not None:
            return _as_original(m, handler, same)
        fields = handler.create(ctx, m["data"])
        token = f"{mid}@1"
        doc = {
            **fields,
            "_id": m["id"],
            "device_id": ctx.device_id,
            "received_at": now,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "mutation_ids": [token],
            **new_fields(),
        }
        return _Write(slot, m, handler, None, doc, token)
    if current is not None and not handler.synced.audience.allows(ctx.actor, current):
        current = None
    recorded = _recorded_version(current, mid)
    if recorded is not None:  # applied before; its receipt was lost
        return _applied(m, handler, recorded, current)
    refusal = handler.refusal(ctx, current, m["op"]) if current is not None else None
    decision = decide_change(current, m.get("base_version"), refusal)
    if decision.verdict is Verdict.REJECT:
        if decision.reason == "NOT_FOUND":
            raise NotFound(f"{handler.name} {m['id']} not found")
        raise Forbidden(decision.detail)
    if decision.verdict is Verdict.CONFLICT:
        return _conflict(ctx, m, handler, decision.reason, decision.detail, current)
    changes = handler.changes(ctx, current, m["op"], m["data"])
    changes.update(updated_at=now, received_at=now, sync_seq=None)
    version = current["version"] + 1
    token = f"{mid}@{version}"
    update = {
        "$set": changes,
        "$inc": {"version": 1, "sync_rev": 1},
        "$push": {"mutation_ids": {"$each": [token], "$slice": -MUTATION_MEMORY}},
    }
    # Compare-and-set on exactly (_id, sync_rev), answered from a unique index on every
    # server: every write bumps sync_rev, so an unchanged one means the document is still
    # exactly as decided on above.
    cas = {"_id": m["id"], "sync_rev": current.get("sync_rev", 0)}
    remembered = [*(current.get("mutation_ids") or ()), token][-MUTATION_MEMORY:]
    after = {
        **current,
        **changes,
        "version": version,
        "sync_rev": cas["sync_rev"] + 1,
        "mutation_ids": remembered,
    }
    return _Write(slot, m, handler, current, after, token, (cas, update))


def _stage(ctx: PushContext, writes: list[_Write]) -> list[tuple[str, set[str]]]:
    """Outbox entries of the round, written in one command before the round's writes: the
    sequencing of the feed (witnessed by every write), each handler's jobs (by their own
    write), and the audit events (each appended only if its own write happened)."""
    witnesses = {w.token: _witness(w) for w in writes}
    pairs = [(outbox.Job(SEQUENCE_JOB), list(witnesses.values()))]
    for w in writes:
        for job in w.handler.jobs(ctx, w.m["op"], w.before, w.after):
            pairs.append((job, [witnesses[w.token]]))
    sender = replace(ctx.actor, device_id=ctx.device_id)
    pairs += audit.jobs(_event(ctx, sender, w, witnesses[w.token]) for w in writes)
    ids = outbox.stage_each(pairs, now=ctx.now)
    return [(i, {m.token for m in marks}) for i, (_job, marks) in zip(ids, pairs, strict=True)]


def _witness(w: _Write) -> outbox.Witness:
    return outbox.Witness(w.handler.collection, w.m["id"], "mutation_ids", w.token)


def _event(ctx: PushContext, sender, w: _Write, witness: outbox.Witness) -> dict:
    handler, m = w.handler, w.m
    return audit_event(
        sender,
        f"{handler.kind}.{m['op']}",
        handler.kind,
        m["id"],
        before=w.before,
        after=w.after,
        now=ctx.now,
        device_time=handler.device_time(m["op"], m["data"]),
        photos=handler.photos(w.after),
        chain=handler.audit_chain(w.after),
        # One event per applied change, however often it is decided again or replayed.
        key=f"{handler.kind}:{m['id']}:{w.token}",
        witness=witness,
    )


def _settle_entries(ctx: PushContext, entries, applied: set[str]) -> None:
    """Confirm the entries whose change happened; discard the others."""
    confirmed = [entry_id for entry_id, tokens in entries if tokens & applied]
    discarded = [entry_id for entry_id, tokens in entries if not tokens & applied]
    outbox.discard(discarded, now=ctx.now)
    outbox.confirm(confirmed, now=ctx.now)


def _write(ctx: PushContext, writes: list[_Write], slots: list):
    """Insert the creates in one command and compare-and-set the changes in another; returns
    (written, to decide again)."""
    applied: list[_Write] = []
    retry: list[_Write] = []
    by_collection = defaultdict(list)
    for w in writes:
        by_collection[w.handler.collection].append(w)
    for collection, group in by_collection.items():
        raw = ctx.db[collection]
        creates = [w for w in group if w.update is None]
        changes = [w for w in group if w.update is not None]
        if creates:
            applied += _insert(ctx, raw, creates, slots)
        if changes:
            result = raw.bulk_write([UpdateOne(*w.update) for w in changes], ordered=False)
            if result.matched_count == len(changes):
                applied += changes
            else:  # some lost their compare-and-set: the stored token says which won
                won = _carrying_tokens(raw, changes)
                applied += [w for w in changes if w.token in won]
                retry += [w for w in changes if w.token not in won]
    return applied, retry


def _insert(ctx: PushContext, raw, creates: list[_Write], slots: list) -> list[_Write]:
    try:
        raw.insert_many([w.after for w in creates], ordered=False)
        return creates
    except BulkWriteError as exc:
        failed = exc
    # Some ids existed. The embedded server's reply cannot be trusted to say which, so look at
    # what is stored: a document carrying this mutation id is this create.
    stored = {d["_id"]: d for d in raw.find({"_id": {"$in": [w.m["id"] for w in creates]}})}
    inserted = []
    for w in creates:
        current = stored.get(w.m["id"])
        if current is None:
            # Refused by another unique index: the same content stored under another id by
            # a concurrent push is answered as that document; else the phone retries the
            # whole batch, safely.
            same = w.handler.original(ctx, w.m["data"])
            if same is None:
                raise failed
            slots[w.slot] = _as_original(w.m, w.handler, same)
            continue
        if not w.handler.synced.audience.allows(ctx.actor, current):
            not_found = NotFound(f"{w.handler.name} {w.m['id']} not found")
            slots[w.slot] = _rejected(w.m["mutation_id"], not_found)
        elif w.token in (current.get("mutation_ids") or ()):
            if current.get("created_at") == w.after["created_at"]:
                inserted.append(w)  # this command inserted it; only other ids existed
            else:
                # Applied by an earlier delivery (creates keep no stored receipt): answered
                # as a duplicate, and nothing of this delivery's is confirmed.
                slots[w.slot] = _duplicate(_applied(w.m, w.handler, 1, current))
        else:
            slots[w.slot] = _conflict(
                ctx, w.m, w.handler, "EXISTS", "a document with this id exists already", current
            )
    return inserted


def _carrying_tokens(raw, changes: list[_Write]) -> set[str]:
    docs = raw.find({"_id": {"$in": [w.m["id"] for w in changes]}}, {"mutation_ids": 1})
    return {token for d in docs for token in d.get("mutation_ids") or ()}


def _remember(ctx: PushContext, receipts: dict[str, dict], creates: set[str]) -> None:
    """Store the receipts a replay must get again: not the retryable rejections, and not the
    applied creates (their document answers a replay, see `_insert`)."""
    fresh = [
        {
            "_id": mid,
            "user_id": ctx.actor.user_id,
            "device_id": ctx.device_id,
            "receipt": receipt,
            "at": ctx.now,
        }
        for mid, receipt in receipts.items()
        if not receipt.get("retryable")
        and not (mid in creates and _first_status(receipt) == APPLIED)
    ]
    if fresh:
        try:
            ctx.db[RECEIPTS].insert_many(fresh, ordered=False)
        except BulkWriteError:
            pass  # the same mutation arrived twice at once: the first receipt stands


def _mutation_id(raw) -> str | None:
    mid = raw.get("mutation_id") if isinstance(raw, dict) else None
    return mid if isinstance(mid, str) and mid else None


def _replayed(ctx: PushContext, stored: dict) -> dict:
    if stored["user_id"] != ctx.actor.user_id:
        return _rejected(stored["_id"], Conflict("this mutation id was used by someone else"))
    return _duplicate(stored["receipt"])


def _duplicate(first: dict) -> dict:
    return {**first, "status": "duplicate", "first_status": _first_status(first)}


def _first_status(receipt: dict) -> str:
    return receipt.get("first_status", receipt["status"])


def _recorded_version(current: dict | None, mutation_id: str) -> int | None:
    for entry in (current or {}).get("mutation_ids") or ():
        mid, _, version = entry.partition("@")
        if mid == mutation_id:
            return int(version)
    return None


def _applied(m: dict, handler: PushHandler, version: int, doc: dict) -> dict:
    return {
        "mutation_id": m["mutation_id"],
        "status": "applied",
        "collection": m["collection"],
        "id": m["id"],
        "version": version,
        **handler.receipt(doc),
    }


def _as_original(m: dict, handler: PushHandler, original: dict) -> dict:
    """A create of what is stored under another id: a duplicate of that document's create,
    naming its id (the phone keeps that one)."""
    return _duplicate(
        _applied({**m, "id": original["_id"]}, handler, original.get("version", 1), original)
    )


def _conflict(ctx, m: dict, handler: PushHandler, reason: str, detail: str, current) -> dict:
    return {
        "mutation_id": m["mutation_id"],
        "status": "conflict",
        "collection": m["collection"],
        "id": m["id"],
        "reason": reason,
        "detail": detail,
        "server_copy": handler.synced.to_phone(current, ctx.actor),
    }


def _rejected(mutation_id: str | None, error: DomainError) -> dict:
    """A rejection says whether sending the same mutation again may succeed (`retryable`:
    what it names may not have arrived yet) or never will (send a new mutation, if any)."""
    return {
        "mutation_id": mutation_id,
        "status": "rejected",
        "retryable": isinstance(error, RETRYABLE),
        "problem": problem_of(error),
    }
