"""An object's audit trail for its case file: the events of its jurisdiction's chain that name
it (or the orders and hazards that belong to it, or its photos), each with its chain position
(number, hash, the hash it links to), and the verifier's result on the range they span
(server.services.audit.range_check: the export and the stand-alone verifier, as an auditor runs
them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pymongo.database import Database

from server.services.audit import chain as chains
from server.services.audit.event import chain_of
from server.services.audit.range_check import RangeResult, check_range


@dataclass(frozen=True)
class Trail:
    chain: str
    #: The stored events, in chain order.
    events: list[dict]
    #: The verifier on events first..last of them (None: there are none).
    check: RangeResult | None


def trail(
    db: Database,
    jurisdiction_id,
    object_ids: Iterable[str],
    photos: Iterable[str],
    public,
    *,
    now: datetime,
) -> Trail:
    """The events of `jurisdiction_id`'s chain on these objects or naming these photos (only
    that chain: the same bytes uploaded in another tenant are that tenant's events)."""
    chain = chain_of(jurisdiction_id)
    ids, shas = [str(i) for i in object_ids], list(photos)
    either = [{"object.id": {"$in": ids}}]
    if shas:
        either.append({"photos": {"$in": shas}})
    found = db[chains.EVENTS].find({"chain": chain, "$or": either}).sort("n", 1)
    events = list(found.batch_size(1000))
    if not events:
        return Trail(chain, [], None)
    check = check_range(db, chain, events[0]["n"], events[-1]["n"], public, now=now)
    return Trail(chain, events, check)
