"""Appending events to their hash chains, and reading chains back.

A chain is a numbered log (`server.sequence.append`): event `n` of chain `c` is stored with
`_id = "c:<n:012d>"`, and the unique `_id` lets exactly one appender have each number. There is
no lock, global or per chain: an appender reads the head, builds its events after it and
inserts them; if another appender took those numbers first, the insert fails on `_id` and it
builds again after the new head. Chains are per jurisdiction, so writers of different
jurisdictions never even meet.

Each event carries `prev` (the hash of event n-1; null for n = 1) and `hash` (SHA-256 of its
canonical JSON, `prev` included), so changing, removing, inserting or reordering any event
breaks every link after it. Appends are idempotent per event `key` (unique index): a retried
job, or two appenders racing with the same events, store each event once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from pymongo.database import Database

from server import sequence
from server.services.audit import canonical

log = logging.getLogger(__name__)

EVENTS = "audit_events"
SIGNATURES = "audit_signatures"
#: Fields of a stored event, besides `_id` (all of them present on every event).
FIELDS = (
    "chain",
    "n",
    "key",
    "at",
    "device_time",
    "actor",
    "action",
    "object",
    "before",
    "after",
    "request_id",
    "photos",
    "prev",
    "hash",
)
#: What an event brings to its chain; the appender adds chain, n, prev and hash.
CONTENT = tuple(f for f in FIELDS if f not in ("chain", "n", "prev", "hash"))
#: Ids per `$in` when reading a range (replies are never split: page everything).
PAGE = 500


class ChainBroken(RuntimeError):
    """A chain in the database is not what its appender left: an event is missing or altered."""


def event_id(chain: str, n: int) -> str:
    return f"{chain}:{n:012d}"


def counter(chain: str) -> str:
    """The name of a chain's head in `counters` (server.sequence)."""
    return f"audit:{chain}"


def head(db: Database, chain: str) -> int:
    """The number of the last event appended to `chain` (0 when it is empty)."""
    return sequence.value(db, counter(chain))


def chains(db: Database) -> list[str]:
    """Every chain that has events."""
    prefix = counter("")
    names = db[sequence.COUNTERS].find({"_id": {"$regex": f"^{prefix}"}}, {"_id": 1})
    return sorted(d["_id"][len(prefix) :] for d in names.batch_size(1000))


def append(db: Database, events: list[dict]) -> dict[str, list[int]]:
    """Append events (each with its `chain` and `key`) to their chains, in order within each
    chain; events whose key is stored already are skipped. Returns the numbers taken."""
    by_chain: dict[str, list[dict]] = {}
    for e in events:
        by_chain.setdefault(e["chain"], []).append(e)
    return {chain: _append_to(db, chain, batch) for chain, batch in by_chain.items()}


def _append_to(db: Database, chain: str, events: list[dict]) -> list[int]:
    keys = [e["key"] for e in events]
    if len(set(keys)) != len(keys):
        raise ValueError("two events of one batch share an idempotency key")
    taken: list[int] = []

    def build(first: int, previous: dict | None) -> list[dict]:
        # Runs again whenever another appender took our numbers: look again at what is stored.
        stored = {d["key"] for d in db[EVENTS].find({"key": {"$in": keys}}, {"key": 1})}
        fresh = [e for e in events if e["key"] not in stored]
        if fresh and first > 1 and previous is None:
            raise ChainBroken(f"event {first - 1} of chain {chain} is missing: not appending")
        prev = previous["hash"] if previous else None
        docs = []
        for offset, e in enumerate(fresh):
            doc = {"chain": chain, "n": first + offset}
            doc.update({name: e.get(name) for name in CONTENT})
            doc["prev"] = prev
            doc["hash"] = prev = canonical.event_hash(doc)
            doc["_id"] = event_id(chain, doc["n"])
            docs.append(doc)
        taken[:] = [d["n"] for d in docs]
        return docs

    sequence.append(
        db,
        EVENTS,
        build,
        id_of=lambda n: event_id(chain, n),
        counter=counter(chain),
        with_previous=True,
    )
    return list(taken)


def read(db: Database, collection: str, chain: str, first: int, last: int) -> Iterator[dict]:
    """Stored documents numbered `first`..`last` of `chain` in `collection` (events or
    signatures), in order, by `_id` pages; absent numbers are simply not yielded."""
    for start in range(first, last + 1, PAGE):
        ids = [event_id(chain, n) for n in range(start, min(last, start + PAGE - 1) + 1)]
        found = {d["_id"]: d for d in db[collection].find({"_id": {"$in": ids}})}
        for i in ids:
            if i in found:
                yield found[i]


def check(db: Database, chain: str, first: int, last: int, prev: str | None) -> None:
    """Recompute hashes and links of events `first`..`last` (`prev`: the hash event
    `first - 1` must have); ChainBroken naming the first problem."""
    expected = first
    for doc in read(db, EVENTS, chain, first, last):
        if doc["n"] != expected:
            raise ChainBroken(f"chain {chain}: event {expected} is missing")
        if doc.get("prev") != prev:
            raise ChainBroken(f"chain {chain}: event {expected} does not link to {expected - 1}")
        if canonical.event_hash(doc) != doc.get("hash"):
            raise ChainBroken(f"chain {chain}: event {expected} does not match its hash")
        prev, expected = doc["hash"], expected + 1
    if expected != last + 1:
        raise ChainBroken(f"chain {chain}: event {expected} is missing")
