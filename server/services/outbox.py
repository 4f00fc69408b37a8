"""The outbox: the jobs a state change requires, kept in MongoDB so that neither exists without
the other, and so that losing Redis loses no job.

There are no transactions, so a change and its entries cannot be written in one step:
1. `stage(jobs, witnesses)` writes the entries first, `pending`, naming the mark (*witness*) the
   change will leave on its document: a token pushed into a list field by the same atomic
   update that makes the change (the push engine's `mutation_ids`, an upload's `outbox`);
2. the caller makes its change, leaving the token;
3. `confirm(ids)` turns the entries `ready` and hands them to the dispatcher, or `discard(ids)`
   when the change did not happen after all.
A crash between 1 and 3 leaves pending entries: `settle_pending` (run by the sweep) confirms
those whose witness is on its document and discards the rest once `GRACE` has passed — longer
than any request, so a change still in flight is never judged. A job required by a change that
needs no mark (or that is already durable) is `record`ed: born ready.

Dispatch can fail (Redis down): the entry stays ready and the sweep dispatches it again. A
worker `claim`s an entry (compare-and-set on `(_id, rev)`), runs the job, and `finish`es or
`fail`s it; an entry whose runner died is claimable again when its lease ends. A job therefore
runs at least once, and its effect happens once when it is idempotent per entry: jobs receive
their entry id (`entry_id`) to use as an idempotency key, e.g. for a counter number.

Jobs are registered by name (`register_job`), explicitly at wiring time; an entry never names
code to import.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mongoengine.connection import get_db

from server.models.outbox_entry import (
    DISCARDED,
    DONE,
    FAILED,
    PENDING,
    READY,
    RUNNING,
    OutboxEntry,
)

log = logging.getLogger(__name__)

#: A pending entry younger than this may belong to a request still making its change.
GRACE = timedelta(minutes=2)
#: How many tokens a document keeps in its `outbox` witness field.
TOKEN_MEMORY = 20


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


class JobRegistry:
    """Jobs by name, and the dispatcher that hands ready entries to a queue."""

    def __init__(self) -> None:
        self._jobs: dict[str, RegisteredJob] = {}
        self._dispatch: Callable[[list[str]], None] | None = None

    def register_job(
        self,
        name: str,
        func: Callable,
        *,
        max_attempts: int = 5,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        """Make `name` runnable; registering it again replaces it (wiring may run twice)."""
        keyed = "entry_id" in inspect.signature(func).parameters
        self._jobs[name] = RegisteredJob(name, func, max_attempts, lease, keyed)

    def job(self, name: str) -> RegisteredJob | None:
        return self._jobs.get(name)

    @property
    def dispatcher(self) -> Callable[[list[str]], None] | None:
        return self._dispatch

    def configure_dispatch(self, dispatch: Callable[[list[str]], None] | None) -> None:
        """Set how ready entries reach the workers (the RQ dispatcher; None: only the sweep)."""
        self._dispatch = dispatch

    def dispatch(self, ids: list[str]) -> None:
        """Hand entries to the workers; a failure is logged, never raised: the sweep retries."""
        if not ids or self._dispatch is None:
            return
        try:
            self._dispatch(ids)
        except Exception as exc:  # noqa: BLE001 - the entries are safe in MongoDB
            log.warning("outbox dispatch deferred", extra={"entries": len(ids), "error": str(exc)})


#: The process's registry; the wiring code (app factory, worker) fills it.
registry = JobRegistry()
register_job = registry.register_job
configure_dispatch = registry.configure_dispatch


def new_id() -> str:
    """An entry id, usable as an RQ job id (`[A-Za-z0-9_-]`)."""
    return uuid.uuid4().hex


def stage(jobs: Iterable[Job], *, witnesses: Iterable[Witness], now: datetime) -> list[str]:
    """Write `jobs` as pending entries confirmed by any of `witnesses`; returns their ids."""
    marks = [w.as_doc() for w in witnesses]
    return _insert([(job, marks) for job in jobs], PENDING, now=now)


def stage_each(pairs: Iterable[tuple[Job, Iterable[Witness]]], *, now: datetime) -> list[str]:
    """Like `stage`, each job with witnesses of its own, in one write; returns their ids."""
    return _insert([(job, [w.as_doc() for w in ws]) for job, ws in pairs], PENDING, now=now)


def confirm(ids: list[str], *, now: datetime, args: dict[str, dict] | None = None) -> None:
    """The change happened: make the entries ready (optionally with final `args` per entry)
    and dispatch them."""
    if not ids:
        return
    collection = OutboxEntry._get_collection()
    for entry_id, entry_args in (args or {}).items():
        collection.update_one({"_id": entry_id}, {"$set": {"args": entry_args}})
    collection.update_many(
        {"_id": {"$in": list(ids)}},
        {"$set": {"state": READY, "ready_at": now}, "$inc": {"rev": 1}},
    )
    registry.dispatch(list(ids))


def discard(ids: list[str], *, now: datetime) -> None:
    """The change did not happen: its entries never run."""
    if ids:
        OutboxEntry._get_collection().update_many(
            {"_id": {"$in": list(ids)}},
            {"$set": {"state": DISCARDED, "finished_at": now}, "$inc": {"rev": 1}},
        )


def record(jobs: Iterable[Job], *, now: datetime) -> list[str]:
    """Entries for a change that is already durable (or needs no mark): ready, dispatched."""
    ids = _insert([(job, []) for job in jobs], READY, now=now)
    registry.dispatch(ids)
    return ids


def witness_token(entry_id: str) -> dict:
    """The `$push` clause that leaves entry `entry_id`'s token in a document's `outbox` field,
    for the update that makes the change (keeps the last TOKEN_MEMORY tokens)."""
    return {"outbox": {"$each": [entry_id], "$slice": -TOKEN_MEMORY}}


def _insert(pairs: list[tuple[Job, list[dict]]], state: str, *, now: datetime) -> list[str]:
    docs = []
    for job, witnesses in pairs:
        if registry.job(job.name) is None:
            raise ValueError(f"no job {job.name!r} is registered")
        docs.append(
            {
                "_id": new_id(),
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
    """Confirm or discard pending entries older than GRACE (after a crash mid-request)."""
    collection = OutboxEntry._get_collection()
    confirmed, discarded = [], []
    for entry in collection.find({"state": PENDING}).batch_size(500):
        if entry["created_at"] > now - GRACE:
            continue
        (confirmed if witnessed(entry) else discarded).append(entry["_id"])
    confirm(confirmed, now=now)
    discard(discarded, now=now)
    return {"confirmed": len(confirmed), "discarded": len(discarded)}


def claim(entry_id: str, *, now: datetime) -> tuple[dict, RegisteredJob] | None:
    """Take an entry to run it: ready, or running under an expired lease (its runner died).
    None when it is done, failed, discarded, pending, or held by a live runner."""
    collection = OutboxEntry._get_collection()
    while True:
        entry = collection.find_one({"_id": entry_id})
        if entry is None:
            return None
        state = entry["state"]
        expired = state == RUNNING and entry.get("lease_until") and entry["lease_until"] < now
        if state != READY and not expired:
            return None
        job = registry.job(entry["job"])
        if job is None:
            log.error("outbox job not registered", extra={"entry": entry_id, "job": entry["job"]})
            return None
        won = collection.update_one(
            {"_id": entry_id, "rev": entry["rev"]},
            {
                "$set": {"state": RUNNING, "started_at": now, "lease_until": now + job.lease},
                "$inc": {"attempts": 1, "rev": 1},
            },
        )
        if won.matched_count:
            entry["attempts"] += 1
            return entry, job


def run(entry: dict, job: RegisteredJob):
    """Call the job of a claimed entry with its arguments."""
    kwargs = dict(entry.get("args") or {})
    if job.keyed:
        kwargs["entry_id"] = entry["_id"]
    return job.func(**kwargs)


def finish(entry_id: str, *, now: datetime, result=None) -> None:
    OutboxEntry._get_collection().update_one(
        {"_id": entry_id},
        {
            "$set": {
                "state": DONE,
                "finished_at": now,
                "lease_until": None,
                "result": result if isinstance(result, dict) else {"value": result},
            },
            "$inc": {"rev": 1},
        },
    )


def fail(entry_id: str, error: str, *, now: datetime, final: bool) -> None:
    """Record a failed attempt: ready again for a retry, or failed for good."""
    OutboxEntry._get_collection().update_one(
        {"_id": entry_id},
        {
            "$set": {
                "state": FAILED if final else READY,
                "last_error": error[:2000],
                "lease_until": None,
                "finished_at": now if final else None,
            },
            "$inc": {"rev": 1},
        },
    )


def retry(entry_id: str, *, now: datetime) -> bool:
    """Make a failed entry ready again with fresh attempts (an admin's retry); dispatch it."""
    result = OutboxEntry._get_collection().update_one(
        {"_id": entry_id, "state": FAILED},
        {"$set": {"state": READY, "ready_at": now, "attempts": 0}, "$inc": {"rev": 1}},
    )
    if result.modified_count:
        registry.dispatch([entry_id])
    return bool(result.modified_count)


__all__ = [
    "DONE",
    "FAILED",
    "GRACE",
    "Job",
    "Witness",
    "claim",
    "configure_dispatch",
    "confirm",
    "discard",
    "fail",
    "finish",
    "record",
    "register_job",
    "retry",
    "run",
    "settle_pending",
    "stage",
    "stage_each",
    "witnessed",
]
