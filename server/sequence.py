"""Numbering without transactions: gapless counters, gapless numbered logs, and leases.

Every MongoDB-wire server gives two atomic tools: a single-document update and a unique index.
Everything here is built from those two, so it holds on the embedded server and on a replica
set alike (see README, "MongoDB: embedded server and real MongoDB").

- **Counter** (`take`): a named series `1, 2, 3, …` (e.g. the notices of one issuing body in
  one year). A number is *claimed* by inserting a claim document whose `_id` is the number;
  the unique `_id` lets exactly one caller have it. The head (`counters`) is advanced only
  after the claim exists, and the next caller claims head + 1, so the claims are always
  consecutive: no gap, no duplicate. Each claim records its caller's idempotency `key`
  (unique per counter): a retried job that passes the same key gets the number it took before,
  even if it died right after taking it.
- **Numbered log** (`append`): the same idea for a log whose entries *are* the claims (the
  change feed's `sync_log`, the audit chains): a batch of entries takes consecutive numbers
  with one ordered insert, and the head follows.
- **Lease** (`Lease`, `held`): a single runner for a job (the feed sequencer); a holder that
  stops renewing for `ttl` is presumed dead and the lease passes on.

A caller that dies between its claim and advancing the head leaves the head one step behind;
the next caller finds its number taken, moves the head up to what exists, and tries again.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

from server.clock import utcnow

log = logging.getLogger(__name__)

#: One head document per counter or log: `{_id: name, value: highest number claimed}`.
COUNTERS = "counters"
#: Claims of plain counters: `{_id: "<name>:<n>", counter, n, key, at}`.
CLAIMS = "counter_claims"
LEASES = "leases"
#: Numbers probed per query when a head has to catch up after a crash.
PROBE = 1000


def value(db: Database, name: str) -> int:
    """The highest number of counter or log `name` known to be claimed (0 before the first)."""
    head = db[COUNTERS].find_one({"_id": name}, {"value": 1})
    return head["value"] if head else 0


def take(db: Database, name: str, *, key: str, now: datetime | None = None) -> int:
    """The next number of counter `name` for the caller identified by `key`.

    Idempotent per key: the same key always gets the same number, so a job retried after a
    crash (pass its outbox entry id) never takes a second one.
    """
    claims = db[CLAIMS]
    while True:
        mine = claims.find_one({"counter": name, "key": key}, {"n": 1})
        if mine is not None:
            return mine["n"]
        n = value(db, name) + 1
        try:
            claims.insert_one(
                {"_id": f"{name}:{n}", "counter": name, "n": n, "key": key, "at": now or utcnow()}
            )
        except DuplicateKeyError:
            # Taken by another caller: catch the head up and retry. Or our key claimed another
            # number meanwhile (the same job run twice at once): n is free, leave the head.
            if claims.count_documents({"_id": f"{name}:{n}"}, limit=1):
                _advance(db, name, n)
            continue
        _advance(db, name, n)
        return n


def append(
    db: Database,
    log_name: str,
    build: Callable[[int, dict | None], list[dict]],
    *,
    id_of: Callable[[int], object] = int,
    counter: str | None = None,
    with_previous: bool = False,
) -> int:
    """Append a batch to the numbered log `log_name`; returns the first number it took.

    `build(first, previous)` returns the entries, each with `_id = id_of(number)` for
    consecutive numbers from `first`; `previous` is the entry numbered `first - 1` when
    `with_previous` (hash chains link to it), else None. `build` runs again whenever the
    numbers were taken meanwhile, so it must be cheap and may drop entries already appended
    (a unique key on the entries refuses a second copy). An empty batch appends nothing.
    """
    counter = counter or log_name
    entries = db[log_name]
    while True:
        first = value(db, counter) + 1
        previous = None
        if with_previous and first > 1:
            previous = entries.find_one({"_id": id_of(first - 1)})
        batch = build(first, previous)
        if not batch:
            return first
        try:
            entries.insert_many(batch, ordered=True)
        except (BulkWriteError, DuplicateKeyError):
            # Numbers taken by another writer, or a writer died before moving the head: move it
            # to what exists (possibly including a prefix of ours) and build again after it.
            _catch_up(db, log_name, counter, first, id_of)
            continue
        _advance(db, counter, first + len(batch) - 1)
        return first


def advance(db: Database, name: str, n: int) -> None:
    """Move the head of counter or log `name` up to `n` (never down), leaving the numbers in
    between unused: a restored feed continues past every number the lost server may have
    handed to phones (server.backup.restore)."""
    _advance(db, name, n)


def _advance(db: Database, name: str, n: int) -> None:
    """Move the head of `name` up to `n` (never down)."""
    try:
        db[COUNTERS].update_one(
            {"_id": name, "value": {"$lt": n}}, {"$set": {"value": n}}, upsert=True
        )
    except DuplicateKeyError:
        pass  # the head is at n or beyond already


def _catch_up(db: Database, log_name: str, counter: str, start: int, id_of) -> None:
    top = start - 1
    while True:
        ids = [id_of(n) for n in range(top + 1, top + 1 + PROBE)]
        found = {d["_id"] for d in db[log_name].find({"_id": {"$in": ids}}, {"_id": 1})}
        if not found:
            break
        numbers = [n for n in range(top + 1, top + 1 + PROBE) if id_of(n) in found]
        top = max(numbers)
        if len(found) < PROBE:
            break
    if top >= start:
        log.info("log head caught up", extra={"log": log_name, "value": top})
    _advance(db, counter, top)


class Lease:
    """A named lease held by one owner until it expires or is released."""

    def __init__(self, db: Database, name: str, owner: str, until: datetime, ttl: timedelta):
        self.db, self.name, self.owner, self.until, self.ttl = db, name, owner, until, ttl

    @classmethod
    def acquire(
        cls, db: Database, name: str, ttl: timedelta, *, now: datetime | None = None
    ) -> Lease | None:
        """The lease if it was free or expired; None while another owner holds it."""
        now = now or utcnow()
        owner = f"{os.getpid()}-{uuid.uuid4().hex}"
        try:
            db[LEASES].update_one(
                {"_id": name, "until": {"$lt": now}},
                {"$set": {"owner": owner, "until": now + ttl, "taken_at": now}},
                upsert=True,
            )
        except DuplicateKeyError:  # held by a live owner: the filter missed and the upsert lost
            return None
        return cls(db, name, owner, now + ttl, ttl)

    def renew(self, *, now: datetime | None = None) -> bool:
        """Extend the lease; False when it expired and another owner took it."""
        now = now or utcnow()
        result = self.db[LEASES].update_one(
            {"_id": self.name, "owner": self.owner}, {"$set": {"until": now + self.ttl}}
        )
        if result.matched_count:
            self.until = now + self.ttl
        return bool(result.matched_count)

    def release(self) -> None:
        self.db[LEASES].delete_one({"_id": self.name, "owner": self.owner})


@contextmanager
def held(db: Database, name: str, ttl: timedelta) -> Iterator[Lease | None]:
    """`with held(db, "sequencer", ttl) as lease:` — the lease, or None if someone holds it."""
    lease = Lease.acquire(db, name, ttl)
    try:
        yield lease
    finally:
        if lease is not None:
            lease.release()
