"""Writing members into figure cells, and adding cells' totals up into figures.

Every write states a member's value, never an increment: a cell's totals are derived from its
members each time it is written (a compare-and-set on `(_id, rev)`), so writing the same member
twice, or an older job's member after a newer one (a member never replaces one of a later
revision), leaves the totals as they were. The median time to close needs no `$median`: cells
keep a histogram of whole days, and histograms add up.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping

from pymongo import DeleteOne, InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from server.models.figures import HAZARDS, FigureCell, FigurePlace
from server.services.figures import contribution as c

#: Totals of a hazard cell and of an inspection cell, all zero.
HAZARD_TOTALS = (
    "hazards",
    "open",
    "overdue",
    "closed",
    "penalized",
    "withdrawn",
    "repeats",
    "reinspected_on_time",
    "reinspected_late",
)
INSPECTION_TOTALS = ("inspections", "unannounced")
#: Histogram of whole days to close: {"<days>": count}.
DAYS = "close_days"


def totals_of(kind: str, members: Mapping[str, list]) -> dict:
    """The totals of a cell with these members."""
    if kind != HAZARDS:
        return {"inspections": len(members), "unannounced": sum(m[1] for m in members.values())}
    count = Counter(m[c.STATUS] for m in members.values())
    days = Counter(str(m[c.DAYS]) for m in members.values() if m[c.DAYS] is not None)
    reinspected = Counter(m[c.REINSPECTION] for m in members.values())
    return {
        "hazards": len(members),
        "open": count[c.OPEN] + count[c.OVERDUE],
        "overdue": count[c.OVERDUE],
        "closed": count[c.CLOSED],
        "penalized": count[c.PENALIZED],
        "withdrawn": count[c.WITHDRAWN],
        "repeats": sum(m[c.REPEAT] for m in members.values()),
        "reinspected_on_time": reinspected[c.ON_TIME],
        "reinspected_late": reinspected[c.LATE],
        DAYS: dict(days),
    }


def apply(collection: str, docs: Iterable[dict]) -> int:
    """Count each raw document of `collection` (hazards or inspections) as it now is: in its
    cell, and in no other. Returns how many cells were written."""
    docs = list(docs)
    if not docs:
        return 0
    places = FigurePlace._get_collection()
    place_ids = {f"{collection}:{d['_id']}": d for d in docs}
    known = {p["_id"]: p.get("cells") or [] for p in places.find({"_id": {"$in": list(place_ids)}})}
    sets: dict[str, dict[str, list]] = {}
    unsets: dict[str, dict[str, int]] = {}
    widen, settle = [], []
    for place_id, raw in place_ids.items():
        key, member = c.member_of(collection, raw)
        doc_id, rev = str(raw["_id"]), member[c.REV]
        old = known.get(place_id, [])
        if key is not None:
            sets.setdefault(key, {})[doc_id] = member
            if key not in old:
                # Noted before the cell is written: a crash then still knows where it counts.
                widen.append(UpdateOne({"_id": place_id}, {"$addToSet": {"cells": key}}, True))
        for gone in old:
            if gone != key:
                unsets.setdefault(gone, {})[doc_id] = rev
        if old != ([key] if key else []):
            settle.append(UpdateOne({"_id": place_id}, {"$set": {"cells": [key] if key else []}}))
    if widen:
        places.bulk_write(widen, ordered=False)
    keys = sorted(set(sets) | set(unsets))
    written = _write_cells(keys, sets, unsets)
    if settle:
        places.bulk_write(settle, ordered=False)
    return written


def _write_cells(keys: list[str], sets: dict, unsets: dict) -> int:
    """Write the cells of `keys` in rounds of one bulk write each: every write is a
    compare-and-set (an insert of a new `_id`, or an update or delete on `(_id, rev)`) that
    leaves this round's token `w`; a cell whose token is not there afterwards (written
    meanwhile) is read and judged again in the next round."""
    collection = FigureCell._get_collection()
    written, todo = 0, list(keys)
    while todo:
        token = uuid.uuid4().hex
        found = collection.find({"_id": {"$in": todo}}).batch_size(len(todo))
        current = {d["_id"]: d for d in found}
        writes = {}
        for key in todo:
            write = _judge(key, current.get(key), sets.get(key, {}), unsets.get(key, {}), token)
            if write is not None:
                writes[key] = write
        if not writes:
            break
        try:
            collection.bulk_write(list(writes.values()), ordered=False)
        except BulkWriteError as exc:
            if not all(e.get("code") == 11000 for e in exc.details.get("writeErrors") or ()):
                raise
            # an insert lost to another writer's: judged again below
        wanted = list(writes)
        after = collection.find({"_id": {"$in": wanted}}, {"w": 1}).batch_size(len(wanted))
        tokens = {d["_id"]: d.get("w") for d in after}
        todo = [
            k
            for k, write in writes.items()
            if (k in tokens if isinstance(write, DeleteOne) else tokens.get(k) != token)
        ]
        written += len(wanted) - len(todo)
    return written


def _judge(key: str, cell: dict | None, sets: dict, unsets: dict, token: str):
    """The write that brings `cell` to its members' current contributions (None: none)."""
    members = dict((cell or {}).get("members") or {})
    changed = False
    for doc_id, member in sets.items():
        had = members.get(doc_id)
        if had != member and (had is None or had[c.REV] <= member[c.REV]):
            members[doc_id], changed = member, True
    for doc_id, rev in unsets.items():
        had = members.get(doc_id)
        if had is not None and had[c.REV] <= rev:
            del members[doc_id]
            changed = True
    if not changed:
        return None
    if cell is not None and not members:
        # Its last member left: gone, as a recount would never have made it.
        return DeleteOne({"_id": key, "rev": cell["rev"]})
    fields = c.cell_fields(key)
    totals = totals_of(fields["kind"], members)
    if cell is None:
        doc = {"_id": key, **fields, "members": members, "totals": totals, "rev": 0, "w": token}
        return InsertOne(doc)
    return UpdateOne(
        {"_id": key, "rev": cell["rev"]},
        {"$set": {"members": members, "totals": totals, "w": token}, "$inc": {"rev": 1}},
    )


def rebuild(collection: str, docs: Iterable[dict], *, page: int = 1000) -> int:
    """Write every cell and place of `collection` from nothing (the recount, once they are
    deleted): members gathered in memory, then each cell written once. Returns how many
    documents were read."""
    members: dict[str, dict[str, list]] = {}
    places: list[dict] = []
    read = 0
    for raw in docs:
        read += 1
        key, member = c.member_of(collection, raw)
        if key is not None:
            members.setdefault(key, {})[str(raw["_id"])] = member
            places.append({"_id": f"{collection}:{raw['_id']}", "cells": [key]})
    cells = [
        {"_id": key, **c.cell_fields(key), "members": m, "totals": None, "rev": 0}
        for key, m in members.items()
    ]
    for cell in cells:
        cell["totals"] = totals_of(cell["kind"], cell["members"])
    # Places first, as `apply` notes them before the cells.
    for target, found in ((FigurePlace, places), (FigureCell, cells)):
        for i in range(0, len(found), page):
            target._get_collection().insert_many(found[i : i + page], ordered=False)
    return read


def add_up(cells: Iterable[dict]) -> dict:
    """Totals of many cells (raw, with `totals`) as one: counts summed, histograms merged."""
    out: dict = {name: 0 for name in (*HAZARD_TOTALS, *INSPECTION_TOTALS)}
    days: Counter = Counter()
    for cell in cells:
        for name, value in (cell.get("totals") or {}).items():
            if name == DAYS:
                days.update({int(d): n for d, n in value.items()})
            else:
                out[name] = out.get(name, 0) + value
    out[DAYS] = days
    return out


def median(days: Mapping[int, int]) -> float | None:
    """The median of a histogram of whole days (the mean of the two middle values when even)."""
    n = sum(days.values())
    if not n:
        return None
    wanted = (n - 1) // 2, n // 2  # 0-based ranks of the middle value(s)
    found, seen = [], 0
    for day in sorted(days):
        nxt = seen + days[day]
        found += [day for rank in wanted if seen <= rank < nxt]
        seen = nxt
    return sum(found) / 2
