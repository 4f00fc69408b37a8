"""The outbox: the jobs a state change requires, kept in MongoDB so that neither exists without
the other, and so that losing Redis loses no job.

There are no transactions, so a change and its entries cannot be written in one step:
1. `stage(jobs, witnesses)` writes the entries first, `pending`, naming the mark (*witness*) the
   change will leave on its document: a token pushed into a list field by the same atomic
   update that makes the change (the push engine's `mutation_ids`, an upload's `outbox`);
2. the caller makes its change, leaving the token;
3. `confirm(ids)` hands the entries to the dispatcher, or `discard(ids)` marks them discarded
   when the change did not happen after all.
Confirming writes nothing: the witness on the document *is* the confirmation, so a worker
`claim`s a pending entry whose witness it finds as it would a ready one (one read), and the
request that made the change pays only for handing the ids over — in the API's processes to
the relay's thread (server.services.relay), not even a Redis round trip. A crash between 1
and 3 leaves pending entries that no worker was told of: `settle_pending` (run by the sweep)
makes those whose witness is on its document `ready` and dispatches them, and discards the
rest once `GRACE` has passed — longer than any request, so a change still in flight is never
judged. A job required by a change that needs no mark (or that is already durable) is
`record`ed: born ready.

Dispatch can fail (Redis down): the entry stays ready and the sweep dispatches it again. A
worker `claim`s an entry (compare-and-set on `(_id, rev)`), runs the job, and `finish`es or
`fail`s it; an entry whose runner died is claimable again when its lease ends. A job therefore
runs at least once, and its effect happens once when it is idempotent per entry: jobs receive
their entry id (`entry_id`) to use as an idempotency key, e.g. for a counter number. Every call
of a job function is recorded in `job_runs` (server.models.job_run), so how often a job really
ran is a fact, not a guess.

The sweep (server.jobs.outbox.sweep_outbox) settles pending entries, hands `stranded` entries
(ready, or running under an expired lease) to the dispatcher again, and `prune`s finished ones.
Every state change is a compare-and-set on `(_id, rev)`, the one update the embedded server
answers from an index (a filter on `_id` plus `state` would scan the collection).

Jobs are registered by name (`register_job`), explicitly at wiring time; an entry never names
code to import.
"""

from __future__ import annotations

import inspect
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mongoengine.connection import get_db
from pymongo.errors import BulkWriteError, DuplicateKeyError

from server.clock import utcnow
from server.models.job_run import ERROR, OK, JobRun, run_id
from server.models.outbox_entry import (
    DISCARDED,
    DONE,
    FAILED,
    PENDING,
    READY,
    RUNNING,
    OutboxEntry,
)
from server.services.relay import Relay

log = logging.getLogger(__name__)

#: A pending entry younger than this may belong to a request still making its change.
GRACE = timedelta(minutes=2)
#: How many tokens a document keeps in its `outbox` witness field.
TOKEN_MEMORY = 20
#: Entries read per batch by the sweep's scans (the embedded server never splits a reply).
SCAN_BATCH = 500


@dataclass(frozen=True)
class Job:
    """A job to run: a registered name and JSON arguments."""

    name: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Witness:
    """The mark a change leaves: `token` in the list `field` of document `id` of `collection`."""

    collection: str
    id: object
    field: str
    token: str

    def as_doc(self) -> dict:
        return {"c": self.collection, "d": self.id, "f": self.field, "t": self.token}


@dataclass(frozen=True)
class RegisteredJob:
    name: str
    func: Callable
    max_attempts: int
    lease: timedelta
    #: Whether `func` takes the entry id (`entry_id=`) as its idempotency key.
    keyed: bool


#: `dispatch(ids, dead_runners=frozenset, first=bool, fresh=bool)` → how many it queued
#: (server.jobs.outbox.RqDispatcher).
Dispatch = Callable[..., int]


class JobRegistry:
    """Jobs by name, and the dispatcher that hands ready entries to a queue."""

    def __init__(self) -> None:
        self._jobs: dict[str, RegisteredJob] = {}
        self._dispatch: Dispatch | None = None
        #: Entries whose dispatch failed since it last worked (their sweep queues them).
        self._deferred = 0
        self._relay = Relay(self._dispatch_fresh)
        self._relayed = False

    def register_job(
        self,
        name: str,
        func: Callable,
        *,
        max_attempts: int = 5,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        """Make `name` runnable; registering it again replaces it (wiring may run twice).
        `lease` must outlast a run: the dispatcher's job timeout (server.jobs.outbox) is less."""
        keyed = "entry_id" in inspect.signature(func).parameters
        self._jobs[name] = RegisteredJob(name, func, max_attempts, lease, keyed)

    def job(self, name: str) -> RegisteredJob | None:
        return self._jobs.get(name)

    @property
    def dispatcher(self) -> Dispatch | None:
        return self._dispatch

    def configure_dispatch(self, dispatch: Dispatch | None, *, relay: bool = False) -> None:
        """Set how ready entries reach the workers (the RQ dispatcher; None: only the sweep).
        `relay`: the entries a change makes are handed over by the relay's thread (the API's
        processes: a request never waits on Redis to queue them), else at once (the worker,
        the CLI)."""
        self._dispatch = dispatch
        self._relayed = relay

    def hand_over(self, ids: list[str]) -> None:
        """The entries of a change just made, to be dispatched (`dispatch`, or the relay)."""
        if self._relayed and self._dispatch is not None:
            self._relay(list(ids))
        else:
            self._dispatch_fresh(ids)

    def _dispatch_fresh(self, ids: list[str]) -> int:
        return self.dispatch(ids, fresh=True)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until the relay has passed on what it was handed (False: not in `timeout`)."""
        return self._relay.flush(timeout)

    def dispatch(
        self,
        ids: list[str],
        *,
        dead_runners: Iterable[str] = (),
        first: bool = False,
        fresh: bool = False,
    ) -> int:
        """Hand entries to the workers; returns how many were queued. A failure is logged (once
        until dispatching works again, not once per request), never raised: the entries are
        safe in MongoDB and the sweep dispatches them again. `dead_runners`: entries whose
        runner died, so a queue's `started` record of them is stale. `first`: ahead of what
        is queued already, in the order given (entries that waited long, e.g. an outage).
        `fresh`: entries a change has just written, which no queue holds yet (hand_over)."""
        if not ids or self._dispatch is None:
            return 0
        try:
            queued = self._dispatch(
                ids, dead_runners=frozenset(dead_runners), first=first, fresh=fresh
            )
        except Exception as exc:  # noqa: BLE001 - the entries are safe in MongoDB
            if not self._deferred:
                log.warning("outbox dispatch deferred", extra={"error": str(exc)[:300]})
            self._deferred += len(ids)
            return 0
        if self._deferred:
            log.warning("outbox dispatch works again", extra={"deferred": self._deferred})
            self._deferred = 0
        return queued


#: The process's registry; the wiring code (app factory, worker) fills it.
registry = JobRegistry()
register_job = registry.register_job
configure_dispatch = registry.configure_dispatch


def new_id() -> str:
    """An entry id, usable as an RQ job id (`[A-Za-z0-9_-]`)."""
    return uuid.uuid4().hex


def stage(
    jobs: Iterable[Job], *, witnesses: Iterable[Witness], now: datetime, ids: list | None = None
) -> list[str]:
    """Write `jobs` as pending entries confirmed by any of `witnesses`; returns their ids
    (`ids`: chosen by the caller, when the change must carry one as its token)."""
    marks = [w.as_doc() for w in witnesses]
    return _insert([(job, marks) for job in jobs], PENDING, now=now, ids=ids)


def stage_each(pairs: Iterable[tuple[Job, Iterable[Witness]]], *, now: datetime) -> list[str]:
    """Like `stage`, each job with witnesses of its own, in one write; returns their ids."""
    return _insert([(job, [w.as_doc() for w in ws]) for job, ws in pairs], PENDING, now=now)


def confirm(ids: list[str], *, now: datetime) -> list[str]:
    """The change happened: dispatch its entries (they stay `pending`; their witness lets a
    worker claim them, see the module docstring). Returns the ids."""
    ids = list(ids)
    registry.hand_over(ids)
    return ids


def make_ready(ids: list[str], *, now: datetime) -> list[str]:
    """Turn witnessed pending entries `ready` and dispatch them (the sweep, after a crash or
    a failed dispatch); entries no longer pending are left alone. Returns those moved."""
    moved = _move_pending(ids, lambda _entry_id: {"state": READY, "ready_at": now})
    registry.dispatch(moved)
    return moved


def ready_with(entry_id: str, args: dict, *, now: datetime) -> bool:
    """A staged entry whose caller learnt, once its change was made or refused, what the job
    must know (a scan's outcome): `args` join its arguments and the entry turns `ready` and
    is dispatched, in one write whether the change happened or not. False when the entry is
    no longer as staged (the sweep settled it meanwhile): it runs, or was discarded, as it
    was."""
    won = OutboxEntry._get_collection().update_one(
        {"_id": entry_id, "rev": 0},
        {
            "$set": {
                **{f"args.{k}": v for k, v in args.items()},
                "state": READY,
                "ready_at": now,
            },
            "$inc": {"rev": 1},
        },
    )
    if won.matched_count:
        registry.hand_over([entry_id])
    return bool(won.matched_count)


def discard(ids: list[str], *, now: datetime) -> list[str]:
    """The change did not happen: its pending entries never run; returns those discarded."""
    return _move_pending(ids, lambda _entry_id: {"state": DISCARDED, "finished_at": now})


def _move_pending(ids: Iterable[str], changes: Callable[[str], dict]) -> list[str]:
    """Apply `changes(id)` to each entry of `ids` that is still pending; returns those moved."""
    collection = OutboxEntry._get_collection()
    todo, moved = list(ids), []
    while todo:
        lost = []
        for entry in collection.find({"_id": {"$in": todo}}, {"state": 1, "rev": 1}):
            if entry["state"] != PENDING:
                continue
            won = collection.update_one(
                {"_id": entry["_id"], "rev": entry["rev"]},
                {"$set": changes(entry["_id"]), "$inc": {"rev": 1}},
            )
            (moved if won.matched_count else lost).append(entry["_id"])
        todo = lost  # written meanwhile: read again
    return moved


def record(jobs: Iterable[Job], *, now: datetime) -> list[str]:
    """Entries for a change that is already durable (or needs no mark): ready, dispatched."""
    ids = _insert([(job, []) for job in jobs], READY, now=now)
    registry.hand_over(ids)
    return ids


def record_once(job: Job, entry_id: str, *, now: datetime) -> bool:
    """A ready entry under a caller-derived id, written at most once whoever calls it how
    often (a timer's tick): True when this call wrote it (and dispatched it)."""
    try:
        _insert([(job, [])], READY, now=now, ids=[entry_id])
    except (BulkWriteError, DuplicateKeyError) as exc:
        if not only_duplicates(exc):
            raise
        return False
    registry.hand_over([entry_id])
    return True


def only_duplicates(exc: Exception) -> bool:
    if isinstance(exc, DuplicateKeyError):
        return True
    errors = exc.details.get("writeErrors") or [{}]
    return all(e.get("code") == 11000 for e in errors)


def witness_token(entry_id: str) -> dict:
    """The `$push` clause that leaves entry `entry_id`'s token in a document's `outbox` field,
    for the update that makes the change (keeps the last TOKEN_MEMORY tokens)."""
    return {"outbox": {"$each": [entry_id], "$slice": -TOKEN_MEMORY}}


def _insert(
    pairs: list[tuple[Job, list[dict]]], state: str, *, now: datetime, ids: list | None = None
) -> list[str]:
    docs = []
    for i, (job, witnesses) in enumerate(pairs):
        if registry.job(job.name) is None:
            raise ValueError(f"no job {job.name!r} is registered")
        docs.append(
            {
                "_id": ids[i] if ids else new_id(),
                "job": job.name,
                "args": job.args,
                "state": state,
                "witnesses": witnesses,
                "created_at": now,
                "ready_at": now if state == READY else None,
                "attempts": 0,
                "rev": 0,
            }
        )
    if docs:
        OutboxEntry._get_collection().insert_many(docs, ordered=False)
    return [d["_id"] for d in docs]


def witnessed(entry: dict) -> bool:
    """Whether any witness of a (raw) entry is on its document: its change happened."""
    db = get_db()
    for mark in entry.get("witnesses") or ():
        doc = db[mark["c"]].find_one({"_id": mark["d"]}, {mark["f"]: 1})
        value = (doc or {}).get(mark["f"])
        if value == mark["t"] or (isinstance(value, list) and mark["t"] in value):
            return True
    return False


def settle_pending(*, now: datetime) -> dict:
    """Make ready (and dispatch) pending entries whose witness is on its document, whatever
    their age: their change happened, and a worker may not have been told (a crash, Redis
    down). Discard those without one once GRACE has passed: their change never happened."""
    collection = OutboxEntry._get_collection()
    confirmed, discarded = [], []
    for entry in collection.find({"state": PENDING}).batch_size(SCAN_BATCH):
        if witnessed(entry):
            confirmed.append(entry["_id"])
        elif entry["created_at"] <= now - GRACE:
            discarded.append(entry["_id"])
    return {
        "confirmed": len(make_ready(confirmed, now=now)),
        "discarded": len(discard(discarded, now=now)),
    }


def claim(entry_id: str, *, now: datetime) -> tuple[dict, RegisteredJob] | None:
    """Take an entry to run it: ready, pending with its witness on its document (confirmed),
    or running under an expired lease (its runner died). None when it is done, failed,
    discarded, pending without a witness yet, or held by a live runner."""
    collection = OutboxEntry._get_collection()
    while True:
        entry = collection.find_one({"_id": entry_id})
        if entry is None:
            return None
        state = entry["state"]
        expired = state == RUNNING and entry.get("lease_until") and entry["lease_until"] < now
        confirmed = state == PENDING and witnessed(entry)
        if state != READY and not expired and not confirmed:
            return None
        job = registry.job(entry["job"])
        if job is None:
            log.error("outbox job not registered", extra={"entry": entry_id, "job": entry["job"]})
            return None
        taken = {"state": RUNNING, "started_at": now, "lease_until": now + job.lease}
        won = collection.update_one(
            {"_id": entry_id, "rev": entry["rev"]},
            {"$set": taken, "$inc": {"attempts": 1, "rev": 1}},
        )
        if won.matched_count:
            # As stored now: `finish`/`fail` compare-and-set on its `rev`.
            entry.update(taken, attempts=entry["attempts"] + 1, rev=entry["rev"] + 1)
            return entry, job


def run(entry: dict, job: RegisteredJob, *, clock: Callable[[], datetime] = utcnow):
    """Call the job of a claimed entry with its arguments, recording the run in `job_runs`."""
    kwargs = dict(entry.get("args") or {})
    if job.keyed:
        kwargs["entry_id"] = entry["_id"]
    runs = JobRun._get_collection()
    key = run_id(entry["_id"], entry["attempts"])
    try:
        runs.insert_one(
            {
                "_id": key,
                "entry_id": entry["_id"],
                "job": job.name,
                "attempt": entry["attempts"],
                "runner": f"{socket.gethostname()}:{os.getpid()}",
                "started_at": clock(),
            }
        )
    except DuplicateKeyError:
        pass  # one record per claim; a claim is never run twice by design, so keep the first
    try:
        result = job.func(**kwargs)
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"[:2000]
        runs.update_one(
            {"_id": key}, {"$set": {"finished_at": clock(), "outcome": ERROR, "error": message}}
        )
        raise
    runs.update_one({"_id": key}, {"$set": {"finished_at": clock(), "outcome": OK}})
    return result


def runs_of(entry: dict) -> list[dict]:
    """The recorded runs of a (raw) entry, oldest first (by `_id`: no scan)."""
    ids = [run_id(entry["_id"], n) for n in range(1, entry.get("attempts", 0) + 1)]
    return sorted(JobRun._get_collection().find({"_id": {"$in": ids}}), key=lambda r: r["attempt"])


def finish(entry_id: str, *, now: datetime, result=None, rev: int | None = None) -> bool:
    """Record a finished run. With the `rev` its claim left, only if nobody claimed the entry
    since (a runner that outlived its lease does not overwrite its successor's state)."""
    return _settle_run(
        entry_id,
        rev,
        {
            "state": DONE,
            "finished_at": now,
            "lease_until": None,
            "result": result if isinstance(result, dict) else {"value": result},
        },
    )


def fail(entry_id: str, error: str, *, now: datetime, final: bool, rev: int | None = None) -> bool:
    """Record a failed attempt: ready again for a retry, or failed for good."""
    return _settle_run(
        entry_id,
        rev,
        {
            "state": FAILED if final else READY,
            "last_error": error[:2000],
            "lease_until": None,
            "finished_at": now if final else None,
        },
    )


def _settle_run(entry_id: str, rev: int | None, changes: dict) -> bool:
    query = {"_id": entry_id} if rev is None else {"_id": entry_id, "rev": rev}
    done = OutboxEntry._get_collection().update_one(query, {"$set": changes, "$inc": {"rev": 1}})
    if not done.matched_count:
        log.warning("outbox entry was claimed again meanwhile", extra={"entry": entry_id})
    return bool(done.matched_count)


def retry(entry_id: str, *, now: datetime) -> bool:
    """Make a failed entry ready again with fresh attempts (an admin's retry); dispatch it."""
    collection = OutboxEntry._get_collection()
    while True:
        entry = collection.find_one({"_id": entry_id}, {"state": 1, "rev": 1})
        if entry is None or entry["state"] != FAILED:
            return False
        won = collection.update_one(
            {"_id": entry_id, "rev": entry["rev"]},
            {
                "$set": {"state": READY, "ready_at": now, "attempts": 0, "finished_at": None},
                "$inc": {"rev": 1},
            },
        )
        if won.matched_count:
            registry.dispatch([entry_id])
            return True


def stranded(*, now: datetime) -> list[tuple[str, bool]]:
    """Entries that should be on a queue, oldest first, as `(id, runner_died)`: every ready
    entry (Redis may have lost its job), and running entries whose lease expired (their runner
    died)."""
    found = OutboxEntry._get_collection().find(
        {"state": {"$in": [READY, RUNNING]}}, {"state": 1, "lease_until": 1, "created_at": 1}
    )
    picked = []
    for entry in found.batch_size(SCAN_BATCH):
        died = entry["state"] == RUNNING
        if died and not (entry.get("lease_until") and entry["lease_until"] < now):
            continue  # a live runner holds it
        picked.append((entry["created_at"], entry["_id"], died))
    return [(entry_id, died) for _at, entry_id, died in sorted(picked)]


def prune(*, now: datetime, keep: timedelta) -> int:
    """Delete done and discarded entries finished more than `keep` ago, with their runs, a
    batch at a time (failed entries stay until an admin retries them). Returns how many."""
    collection = OutboxEntry._get_collection()
    query = {"state": {"$in": [DONE, DISCARDED]}, "finished_at": {"$lt": now - keep}}
    pruned = 0
    while batch := list(collection.find(query, {"attempts": 1}).limit(SCAN_BATCH)):
        runs = [run_id(e["_id"], n) for e in batch for n in range(1, e.get("attempts", 0) + 1)]
        # Runs first: a crash in between leaves entries to prune next time, never lost runs.
        if runs:
            JobRun._get_collection().delete_many({"_id": {"$in": runs}})
        collection.delete_many({"_id": {"$in": [e["_id"] for e in batch]}})
        pruned += len(batch)
    return pruned


def listed(states: Iterable[str], *, offset: int, limit: int) -> list[dict]:
    """Entries in `states`, oldest first, one page (for admins)."""
    found = OutboxEntry._get_collection().find({"state": {"$in": list(states)}})
    found = found.sort([("created_at", 1), ("_id", 1)]).skip(offset).limit(limit)
    return list(found.batch_size(max(limit, 1)))


def count(states: Iterable[str]) -> int:
    return OutboxEntry._get_collection().count_documents({"state": {"$in": list(states)}})


__all__ = [
    "DONE",
    "FAILED",
    "GRACE",
    "Job",
    "Witness",
    "claim",
    "configure_dispatch",
    "confirm",
    "count",
    "discard",
    "fail",
    "finish",
    "make_ready",
    "only_duplicates",
    "listed",
    "prune",
    "ready_with",
    "record",
    "record_once",
    "register_job",
    "retry",
    "run",
    "runs_of",
    "settle_pending",
    "stage",
    "stage_each",
    "stranded",
    "witness_token",
    "witnessed",
]
