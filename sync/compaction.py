"""Compaction: keeps the change feed and the push receipts from growing without end.

A pull hands the reader a whole state of each document, the latest entry's (sync.feed), so of
all log entries for one document only the latest can still change what a phone ends with,
plus the audiences its earlier entries were addressed to: a reader who saw the document under
an old audience needs a tombstone from somewhere. `compact_feed` therefore

1. finds superseded entries without an index on `(c, d)`: every synced document records the
   number of its latest entry in `sync_seq`, so an entry numbered lower than its document's
   `sync_seq` is superseded (documents are read by `$in` on `_id`, a window at a time);
2. carries forward, onto the surviving latest entry, every audience of the entries it
   supersedes (their `s` and their previous audiences) as the list `ps`, never including the
   survivor's own `s`;
3. only then deletes the superseded entries. A crash between 2 and 3 leaves an extra entry,
   never a missing tombstone; repeating 2 is harmless (`$addToSet`).

The latest entry of every document stays, so tombstones of deleted documents (`x`) stay too,
and the log shrinks to about one entry per synced document, deleted ones included (synced
documents are only ever marked deleted). Tombstones are not pruned: see README, "Compaction".

Runs are bounded and resumable: a watermark in `sync_state` says where the last run stopped.
An entry that was the latest when a run passed it is superseded later, so when a run reaches
the top of the log the next one starts again at the bottom (a cycle); holes cost one `$in`
lookup per number and no document. A run never looks above the sequencer's counter, stops
short of the newest `MARGIN` of the log, and runs alone (a lease).

`prune_receipts` deletes push receipts older than the receipt horizon; a replay after that is
still recognised by the mutation ids the documents remember (sync.push).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from pymongo import UpdateOne
from pymongo.database import Database

from server import sequence
from sync.collections import BY_COLLECTION
from sync.push import RECEIPTS
from sync.sequencer import LOG, STATE, counter, entries_between, previous_scopes

log = logging.getLogger(__name__)

#: The lease and the watermark document (in `sync_state`) of the compactor.
NAME = "compaction"
#: A compactor that stops renewing its lease for this long is presumed dead.
LEASE_TTL = timedelta(minutes=2)
#: Log numbers read per query (a `$in` on `_id`: indexed on every server).
WINDOW = 500
#: Most log entries one run examines.
MAX_ENTRIES = 50_000
#: Most log numbers one run walks, holes included (each costs an index lookup).
MAX_WALK = 1_000_000
#: The newest part of the log left alone: the sequencer is still recording `sync_seq` there,
#: phones are reading it, and a draft's edits arrive in bursts that one later pass removes.
MARGIN = timedelta(minutes=5)
#: Receipts deleted per command; the embedded server scans for `{at: {$lt: ...}}`.
RECEIPT_BATCH = 5000
#: Most receipts one run deletes (a first run on an old database catches up over several).
MAX_RECEIPTS = 200_000


@dataclass(frozen=True)
class CompactionRun:
    #: Log entries looked at, and how many of them were removed as superseded.
    examined: int
    removed: int
    #: Where the next run starts (0: a new cycle from the bottom of the log).
    watermark: int
    #: Another compactor held the lease: this run did nothing.
    busy: bool = False


@dataclass
class _Plan:
    """What one window of the log compacts to: audiences to add to surviving entries, and the
    superseded entries to delete once they are written."""

    carry: dict[int, list[dict]]
    doomed: list[int]


def compact_feed(
    db: Database,
    *,
    now: datetime,
    margin: timedelta = MARGIN,
    max_entries: int = MAX_ENTRIES,
) -> CompactionRun:
    """Remove superseded log entries from the watermark on, at most `max_entries` examined."""
    with sequence.held(db, NAME, LEASE_TTL) as lease:
        if lease is None:
            return CompactionRun(0, 0, watermark(db), busy=True)
        run = _run(db, lease, now=now, cutoff=now - margin, max_entries=max_entries)
    log.info(
        "feed compacted",
        extra={"examined": run.examined, "removed": run.removed, "watermark": run.watermark},
    )
    return run


def watermark(db: Database) -> int:
    """The log number the next compaction run starts after."""
    state = db[STATE].find_one({"_id": NAME}, {"after": 1})
    return state["after"] if state else 0


def _run(
    db: Database, lease: sequence.Lease, *, now: datetime, cutoff: datetime, max_entries: int
) -> CompactionRun:
    top = counter(db)
    start = watermark(db)
    if start >= top:  # a finished cycle, or a counter restored from an older backup
        start = 0
    position, examined, removed = start, 0, 0
    while examined < max_entries and position - start < MAX_WALK:
        high = min(position + WINDOW, position + max_entries - examined, top)
        entries = entries_between(db, position, high)
        fresh = next((e["_id"] for e in entries if (e.get("at") or cutoff) > cutoff), None)
        if fresh is not None:
            entries = [e for e in entries if e["_id"] < fresh]
        plan = _plan(db, entries)
        # Still ours right before writing: a second compactor could delete a survivor after
        # reading it and before this run's carry-forward reached it.
        if not lease.renew():
            break
        _carry_forward(db, plan)
        removed += _delete(db, plan)
        examined += len(entries)
        # At the top (or at the margin) the next run begins a new cycle from the bottom.
        position = 0 if fresh is not None or high >= top else high
        db[STATE].update_one({"_id": NAME}, {"$set": {"after": position, "at": now}}, upsert=True)
        if position == 0:
            break
    return CompactionRun(examined, removed, position)


def _plan(db: Database, entries: list[dict]) -> _Plan:
    """Which of `entries` are superseded, and what their surviving entries must carry."""
    by_collection: dict[str, list[dict]] = defaultdict(list)
    for entry in entries:
        if entry["c"] in BY_COLLECTION:  # entries of a collection no longer synced are left
            by_collection[entry["c"]].append(entry)
    superseded: dict[int, list[dict]] = defaultdict(list)  # latest number -> older entries
    for collection, group in by_collection.items():
        ids = list({e["d"] for e in group})
        latest = {
            doc["_id"]: doc.get("sync_seq")
            for doc in db[collection]
            .find({"_id": {"$in": ids}}, {"sync_seq": 1})
            .batch_size(len(ids))
        }
        for entry in group:
            seq = latest.get(entry["d"])
            # Null while a change awaits sequencing; lower for an entry a crashed sequencer
            # left behind: neither says which entry is the latest yet.
            if isinstance(seq, int) and seq > entry["_id"]:
                superseded[seq].append(entry)
    plan = _Plan({}, [])
    if not superseded:
        return plan
    survivors = db[LOG].find({"_id": {"$in": list(superseded)}}).batch_size(len(superseded))
    for keep in survivors:
        older = [e for e in superseded[keep["_id"]] if (e["c"], e["d"]) == (keep["c"], keep["d"])]
        audiences = _carried(keep, older)
        if audiences:
            plan.carry[keep["_id"]] = audiences
        plan.doomed += [e["_id"] for e in older]
    return plan


def _carried(keep: dict, older: list[dict]) -> list[dict]:
    """The audiences of `older` entries that `keep` does not name yet (deduplicated)."""
    known = [keep["s"], *previous_scopes(keep)]
    new: list[dict] = []
    for entry in older:
        for scope in (entry["s"], *previous_scopes(entry)):
            if scope not in known and scope not in new:
                new.append(scope)
    return new


def _carry_forward(db: Database, plan: _Plan) -> None:
    """Step 2, before any deletion; `$addToSet` makes a repeat after a crash harmless."""
    if plan.carry:
        db[LOG].bulk_write(
            [
                UpdateOne({"_id": n}, {"$addToSet": {"ps": {"$each": audiences}}})
                for n, audiences in plan.carry.items()
            ],
            ordered=False,
        )


def _delete(db: Database, plan: _Plan) -> int:
    if not plan.doomed:
        return 0
    return db[LOG].delete_many({"_id": {"$in": plan.doomed}}).deleted_count


def prune_receipts(
    db: Database, *, now: datetime, horizon: timedelta, limit: int = MAX_RECEIPTS
) -> int:
    """Delete push receipts written before `now - horizon`, at most `limit`; returns how many."""
    cutoff = now - horizon
    removed = 0
    while removed < limit:
        batch = min(RECEIPT_BATCH, limit - removed)
        ids = [
            r["_id"]
            for r in db[RECEIPTS]
            .find({"at": {"$lt": cutoff}}, {"_id": 1})
            .limit(batch)
            .batch_size(batch)
        ]
        if not ids:
            break
        removed += db[RECEIPTS].delete_many({"_id": {"$in": ids}}).deleted_count
        if len(ids) < batch:
            break
    return removed
