"""The sequencer: gives every changed document a place in the change feed, after it committed.

Why not number changes when they are written: a writer that takes number 10 and commits after
the writer that took 11 is invisible to a reader who already read 11 and moved on: skipped
for ever. Here numbers are handed out only to writes that have already committed, by one
sequencer at a time (a lock document), in one dense series `1, 2, 3, …` with no gaps:

1. writers set `sync_seq = null` and bump `sync_rev` in the same atomic update as their change,
   then mark the collection dirty (server.models.synced);
2. the sequencer reads the dirty marker, finds the documents whose `sync_seq` is null, notes
   each one's audience on it (`sync_audiences`), appends one log entry per document to
   `sync_log` (`_id` = sequence number, with the document's audience), advances the counter,
   and only then records `sync_seq` on each document, conditionally on `sync_rev` being
   unchanged; a document written meanwhile stays null and gets a later number in the next
   round;
3. the dirty marker is removed only if no writer touched it during the round.

Readers never see a number above the counter, and every number up to the counter is in the
log, so a reader can never step over a change. A crash at any point leaves either a null
`sync_seq` (sequenced again later) or an extra log entry (harmless: phones apply the current
state, idempotently). `sweep` re-marks every collection dirty to catch a writer that died
between its write and its dirty mark.

A log entry is `{_id: n, c: collection, d: document id, s: audience, at}`, plus `v` (the
document's phone copy in each view, encoded, as read for this entry: sync.collections), `ps` (every
earlier audience that may still hold the document: their readers get a tombstone; compaction
carries them forward, sync.compaction), `p` (the single earlier audience, in entries written
before `ps`) and `x` (deleted). `previous_scopes` reads `p` and `ps` alike.

Tombstones are owed to every audience ever published, not only the last confirmed one: an
audience is noted on its document before its entry is written, and cleared only when a later
entry of the same document, naming it in `ps`, is confirmed. A write racing the confirmation,
or a crash after the append, therefore never leaves an audience that no entry will tell.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from pymongo import UpdateOne
from pymongo.database import Database

from server import sequence
from server.clock import utcnow
from server.models.synced import DIRTY
from sync.collections import BY_COLLECTION, COPY_KEYS, REGISTRY, SyncedCollection

log = logging.getLogger(__name__)

LOG = "sync_log"
STATE = "sync_state"
LOCK_ID = "sequencer"
#: Documents sequenced per log write; bounds memory and the size of one command.
BATCH = 1000
#: A sequencer that stops renewing its lock for this long is presumed dead.
LOCK_TTL = timedelta(seconds=30)


def counter(db: Database) -> int:
    """The highest sequence number whose log entry is written (0 before the first)."""
    return sequence.value(db, LOG)


def previous_scopes(entry: dict) -> list[dict]:
    """Every earlier audience of an entry's document whose readers get a tombstone from it."""
    scopes = list(entry.get("ps") or ())
    if "p" in entry and entry["p"] not in scopes:
        scopes.append(entry["p"])
    return scopes


def entries_between(
    db: Database, after: int, top: int, *, copies: set[str] | None = None
) -> list[dict]:
    """The log entries numbered `after + 1 … top`, in order: one `$in` on `_id` (indexed on
    every server); numbers compacted away are simply absent. With the phone copies (`v`)
    under the `copies` keys asked for only: they are most of an entry's size."""
    numbers = list(range(after + 1, top + 1))
    unread = COPY_KEYS - copies if copies else None
    projection = {"v": 0} if unread is None else {f"v.{k}": 0 for k in unread} or None
    found = db[LOG].find({"_id": {"$in": numbers}}, projection).batch_size(max(len(numbers), 1))
    return sorted(found, key=lambda e: e["_id"])


def copies_of(db: Database, numbers: list[int], keys: dict[str, str]) -> dict[int, bytes]:
    """The encoded phone copy of each entry in `numbers` that a reader reads (`keys`:
    collection -> copy key, sync.collections); entries without one (deleted documents,
    entries written before copies were stored or under older rules) are absent."""
    if not numbers:
        return {}
    projection = {"c": 1, **{f"v.{key}": 1 for key in set(keys.values())}}
    found = db[LOG].find({"_id": {"$in": numbers}}, projection).batch_size(len(numbers))
    copies = {}
    for entry in found:
        copy = (entry.get("v") or {}).get(keys.get(entry["c"], ""))
        if copy is not None:
            copies[entry["_id"]] = copy
    return copies


def has_pending(db: Database) -> bool:
    return db[DIRTY].count_documents({}, limit=1) > 0


def sequence_pending(db: Database, *, wait_s: float = 5.0) -> int:
    """Sequence every changed document of every dirty collection; returns how many.

    When another process holds the sequencer, wait (up to `wait_s`) for it to finish and
    for the dirty markers to clear, so that a pull after a write sees that write.
    """
    deadline = time.monotonic() + wait_s
    total = 0
    while has_pending(db):
        with sequence.held(db, LOCK_ID, LOCK_TTL) as lease:
            held = lease is not None
            if held:
                total += _sequence_dirty(db)
        if not has_pending(db):
            break
        if time.monotonic() >= deadline:
            log.warning("sequencer busy; the remaining changes show in a later pull")
            break
        if not held:
            time.sleep(0.02)
    return total


def _sequence_dirty(db: Database) -> int:
    total = 0
    for marker in list(db[DIRTY].find()):
        synced = BY_COLLECTION.get(marker["_id"])
        if synced is None:  # a collection that is no longer synced
            db[DIRTY].delete_one({"_id": marker["_id"], "n": marker["n"]})
            continue
        total += _sequence_collection(db, synced, marker["n"])
    return total


def sweep(db: Database) -> None:
    """Mark every synced collection dirty (a periodic job and start-up safety net)."""
    for synced in REGISTRY:
        db[DIRTY].update_one({"_id": synced.collection}, {"$inc": {"n": 1}}, upsert=True)


def _sequence_collection(db: Database, synced: SyncedCollection, seen: int) -> int:
    raw = db[synced.collection]
    done = 0
    while True:
        docs = list(
            raw.find({"sync_seq": None}, synced.sequencing_projection)
            .limit(BATCH)
            .batch_size(BATCH)
        )
        if not docs:
            break
        _record_audiences(raw, synced, docs)
        first = _append(db, synced, docs, utcnow())
        raw.bulk_write(
            [
                # Exactly (_id, sync_rev): a unique index answers it on every server. An unchanged
                # sync_rev means the document is as read, its sync_seq still null; its entry
                # told every earlier audience, so only the one just published is still owed.
                UpdateOne(
                    {"_id": d["_id"], "sync_rev": d.get("sync_rev", 0)},
                    {"$set": {"sync_seq": first + i, "sync_audiences": [synced.scope(d)]}},
                )
                for i, d in enumerate(docs)
            ],
            ordered=False,
        )
        done += len(docs)
        if len(docs) < BATCH:
            break
    db[DIRTY].delete_one({"_id": synced.collection, "n": seen})
    return done


def published_audiences(doc: dict) -> list[dict]:
    """The audiences a document's feed entries have published and not yet told of a change
    (with the single audience earlier versions kept)."""
    scopes = list(doc.get("sync_audiences") or ())
    legacy = doc.get("sync_scope")
    if legacy and legacy not in scopes:
        scopes.append(legacy)
    return scopes


def _record_audiences(raw, synced: SyncedCollection, docs: list[dict]) -> None:
    """Note each audience on its document before it is published. If the confirmation below
    then loses its compare-and-set (written meanwhile) or the sequencer dies, the audience is
    still known, and the document's next entry owes its readers a tombstone when it moves."""
    new = []
    for d in docs:
        known, scope = published_audiences(d), synced.scope(d)
        if scope not in known:
            # By `_id` alone: writers never touch this field, and one sequencer runs at a time.
            new.append(UpdateOne({"_id": d["_id"]}, {"$set": {"sync_audiences": [*known, scope]}}))
            d["sync_audiences"] = [*known, scope]
    if new:
        raw.bulk_write(new, ordered=False)


def _append(db: Database, synced: SyncedCollection, docs: list[dict], now) -> int:
    """Write one log entry per document with the next numbers; returns the first number.

    A sequencer that died after writing entries but before moving the head leaves entries
    that `sequence.append` adopts (duplicates of a document are harmless)."""

    def entries(first: int, _previous) -> list[dict]:
        out = []
        for i, d in enumerate(docs):
            scope = synced.scope(d)
            entry = {"_id": first + i, "c": synced.collection, "d": d["_id"], "s": scope, "at": now}
            earlier = [a for a in published_audiences(d) if a != scope]
            if earlier:
                entry["ps"] = earlier  # audience shrank or moved: old readers get a tombstone
            if d.get("deleted_at"):
                entry["x"] = True
            else:
                entry["v"] = synced.rendered(d)  # the phone copies, as read for this entry
            out.append(entry)
        return out

    return sequence.append(db, LOG, entries)


def migrate_counter(db: Database) -> None:
    """Carry the head of a feed written before `server.sequence` existed (kept in
    `sync_state`) over to the counters collection; a no-op afterwards."""
    legacy = db[STATE].find_one({"_id": "seq"})
    if legacy and sequence.value(db, LOG) < legacy["value"]:
        sequence._advance(db, LOG, legacy["value"])
