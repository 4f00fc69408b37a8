"""Timers: jobs due at a date (a reminder before a notice's deadline, the instant it is overdue),
kept in MongoDB and fired through the outbox, so that losing Redis loses no timer.

- `schedule(key, due_at, job, now=...)` is idempotent per key (`notice:<id>:remind`): the same
  call again changes nothing, a new `due_at` moves a timer that has not fired, and a canceled
  timer is armed again. A key fires at most once: to fire again, schedule a new key.
- `cancel(key)` stops a timer that has not fired.
- `fire_due(now)`, run by the periodic tick (server.jobs.timers), turns each due timer into
  exactly one outbox entry: it first takes the timer (`scheduled` → `firing`, compare-and-set
  on `(_id, rev)`, after which nobody can move or cancel it), then writes the entry under an id
  derived from the key (insert-if-absent), then marks it `fired`. A repeated or concurrent tick,
  or one after a crash at any step, finds the same entry and never makes a second.

Redis is not involved until the entry is dispatched: a timer that fell due while Redis was down
fires at the first tick after it is back (the entry itself waits in the outbox if need be).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from server.models.timer import CANCELED, FIRED, FIRING, SCHEDULED, Timer
from server.services import outbox

log = logging.getLogger(__name__)

#: Timers read per batch while ticking (the embedded server never splits a reply).
BATCH = 500


def entry_id_of(key: str) -> str:
    """The outbox entry a timer becomes: derived from its key, so it is written once."""
    return "timer-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def schedule(key: str, due_at: datetime, job: outbox.Job, *, now: datetime) -> dict:
    """Arm timer `key` to run `job` at `due_at` (see the module docstring); returns the timer."""
    if outbox.registry.job(job.name) is None:
        raise ValueError(f"no job {job.name!r} is registered")
    collection = Timer._get_collection()
    due_at = due_at.replace(microsecond=due_at.microsecond // 1000 * 1000)  # as MongoDB keeps it
    fields = {"due_at": due_at, "job": job.name, "args": job.args, "updated_at": now}
    while True:
        try:
            doc = {"_id": key, **fields, "state": SCHEDULED, "created_at": now, "rev": 0}
            collection.insert_one(doc)
            return doc
        except DuplicateKeyError:
            pass
        timer = collection.find_one({"_id": key})
        if timer is None:
            continue  # deleted meanwhile: insert again
        if timer["state"] in (FIRING, FIRED):
            return timer  # a key fires once
        same = all(timer.get(k) == v for k, v in fields.items() if k != "updated_at")
        if timer["state"] == SCHEDULED and same:
            return timer
        changes = {**fields, "state": SCHEDULED}
        if _swap(timer, changes):
            return {**timer, **changes, "rev": timer["rev"] + 1}


def cancel(key: str, *, now: datetime) -> bool:
    """Stop a timer that has not fired; False when there is none or it fired (or is firing)."""
    collection = Timer._get_collection()
    while True:
        timer = collection.find_one({"_id": key}, {"state": 1, "rev": 1})
        if timer is None or timer["state"] != SCHEDULED:
            return False
        if _swap(timer, {"state": CANCELED, "updated_at": now}):
            return True


def fire_due(*, now: datetime) -> int:
    """Turn every timer due by `now` into its outbox entry; returns how many this call fired."""
    collection = Timer._get_collection()
    due = collection.find(
        {"$or": [{"state": SCHEDULED, "due_at": {"$lte": now}}, {"state": FIRING}]},
        {"state": 1, "rev": 1, "job": 1, "args": 1},
    )
    fired = 0
    for timer in due.batch_size(BATCH):
        if timer["state"] == SCHEDULED:
            if not _swap(timer, {"state": FIRING, "updated_at": now}):
                continue  # moved, canceled or taken by another tick: seen again next time
            timer["rev"] += 1
        fired += _fire(timer, now=now)
    return fired


def _fire(timer: dict, *, now: datetime) -> int:
    """Write the entry of a `firing` timer (once), then mark the timer fired."""
    entry_id = entry_id_of(timer["_id"])
    written = outbox.record_once(
        outbox.Job(timer["job"], timer.get("args") or {}), entry_id, now=now
    )
    _swap(timer, {"state": FIRED, "fired_at": now, "entry_id": entry_id, "updated_at": now})
    if written:
        log.info("timer fired", extra={"timer": timer["_id"], "entry": entry_id})
    return int(written)


def prune(*, now: datetime, keep: timedelta) -> int:
    """Delete timers that fired or were canceled more than `keep` ago, a batch at a time."""
    collection = Timer._get_collection()
    query = {"state": {"$in": [FIRED, CANCELED]}, "updated_at": {"$lt": now - keep}}
    pruned = 0
    while batch := [t["_id"] for t in collection.find(query, {"_id": 1}).limit(BATCH)]:
        pruned += collection.delete_many({"_id": {"$in": batch}}).deleted_count
    return pruned


def _swap(timer: dict, changes: dict) -> bool:
    """Compare-and-set on exactly `(_id, rev)` (the embedded server answers it from the unique
    index; any other filter would scan every timer)."""
    won = Timer._get_collection().update_one(
        {"_id": timer["_id"], "rev": timer["rev"]}, {"$set": changes, "$inc": {"rev": 1}}
    )
    return bool(won.matched_count)
