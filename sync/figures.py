"""The figures follow the change feed; and a recount rebuilds them from scratch.

Every committed write to a hazard or an inspection, whichever code path made it (a phone's
push, a transition, a timer, a register job, a review decision), gets an entry in the feed's
gapless log (sync.sequencer). The follower reads the log after its cursor, counts each changed
document again *as it now is* (server.services.figures.cells), and then moves its cursor on. A
crash before the cursor moved makes the next run read the same entries again: counting a
document as it is twice changes nothing, and entries read out of order, or a retried job, can
neither double-count nor bring an older state back. One follower runs at a time (a lease).

`recount` rebuilds every cell by reading every hazard and inspection (their members gathered
in memory, each cell then written once); it sets the cursor to
the feed's head as it was *before* it read, so a change made during the recount is followed
again afterwards (harmless, as above).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from pymongo.database import Database

from server import sequence
from server.models.figures import HAZARDS, INSPECTIONS, FigureCell, FigurePlace
from server.models.hazard import Hazard
from server.models.inspection import Inspection
from server.services.figures import cells
from sync.sequencer import LOG, counter

log = logging.getLogger(__name__)

#: The follower's cursor: the last feed number it has counted (a head in `counters`).
CURSOR = "figures_cursor"
LEASE = "figures"
LEASE_TTL = timedelta(minutes=2)
#: Feed entries read per round, and documents read per query.
PAGE = 1000
#: The collections counted, and the fields a contribution is computed from.
COLLECTIONS = {
    Hazard._get_collection_name(): (
        HAZARDS,
        (
            "jurisdiction_id",
            "enterprise_id",
            "checklist_code",
            "level",
            "state",
            "created_at",
            "updated_at",
            "deadline",
            "history",
            "repeat_of",
            "sync_rev",
        ),
    ),
    Inspection._get_collection_name(): (
        INSPECTIONS,
        (
            "jurisdiction_id",
            "enterprise_id",
            "inspector_id",
            "status",
            "deleted_at",
            "unannounced",
            "submitted_at",
            "created_at",
            "sync_rev",
        ),
    ),
}


def cursor(db: Database) -> int:
    return sequence.value(db, CURSOR)


def behind(db: Database) -> int:
    """How many feed entries the figures have not yet followed (of any collection)."""
    return max(0, counter(db) - cursor(db))


def follow(db: Database) -> int | None:
    """Count every hazard and inspection changed since the cursor; returns how many documents
    were counted again (None when another follower holds the lease)."""
    with sequence.held(db, LEASE, LEASE_TTL) as lease:
        if lease is None:
            return None
        done = 0
        while True:
            after, top = cursor(db), counter(db)
            if after >= top:
                return done
            last = min(top, after + PAGE)
            numbers = list(range(after + 1, last + 1))
            changed: dict[str, set] = {name: set() for name in COLLECTIONS}
            for entry in (
                db[LOG].find({"_id": {"$in": numbers}}, {"c": 1, "d": 1}).batch_size(len(numbers))
            ):
                if entry["c"] in changed:
                    changed[entry["c"]].add(entry["d"])
            for name, ids in changed.items():
                done += _count(db, name, sorted(ids, key=str))
            sequence.advance(db, CURSOR, last)
            lease.renew()


def recount(db: Database) -> dict:
    """Rebuild every cell from every hazard and inspection; returns how many of each were
    counted. Waits for no follower: it takes the lease, and fails if another holds it."""
    with sequence.held(db, LEASE, LEASE_TTL) as lease:
        if lease is None:
            raise RuntimeError("the figures are being followed or recounted: try again")
        head = counter(db)
        FigureCell._get_collection().delete_many({})
        FigurePlace._get_collection().delete_many({})
        out = {}
        for name, (kind, fields) in COLLECTIONS.items():
            out[kind] = cells.rebuild(
                kind, _renewing(db[name].find({}, dict.fromkeys(fields, 1)), lease)
            )
        sequence.advance(db, CURSOR, head)
        return out


def _renewing(found, lease):
    """The documents of a scan, renewing the lease every PAGE of them."""
    for i, raw in enumerate(found.batch_size(PAGE), 1):
        if i % PAGE == 0:
            lease.renew()
        yield raw


def _count(db: Database, name: str, ids: list) -> int:
    kind, fields = COLLECTIONS[name]
    total = 0
    for i in range(0, len(ids), PAGE):
        page = ids[i : i + PAGE]
        found = db[name].find({"_id": {"$in": page}}, dict.fromkeys(fields, 1))
        total += _apply(kind, list(found.batch_size(len(page))))
    return total


def _apply(kind: str, docs: list[dict]) -> int:
    cells.apply(kind, docs)
    return len(docs)
