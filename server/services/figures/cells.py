"""Writing members into figure cells, and adding cells' totals up into figures.

Every write states a member's value, never an increment: a cell's totals are derived from its
members each time it is written (a compare-and-set on `(_id, rev)`), so writing the same member
twice, or an older job's member after a newer one (a member never replaces one of a later
revision), leaves the totals as they were. The median time to close needs no `$median`: cells
keep a histogram of whole days, and histograms add up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from pymongo import UpdateOne
from pymongo.errors import DuplicateKeyError

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
    cells = FigureCell._get_collection()
    current = {d["_id"]: d for d in cells.find({"_id": {"$in": keys}}).batch_size(len(keys) or 1)}
    written = 0
    for key in keys:
        while True:
            cell = current.pop(key, None) or cells.find_one({"_id": key})
            members = dict((cell or {}).get("members") or {})
            changed = False
            for doc_id, member in sets.get(key, {}).items():
                had = members.get(doc_id)
                if had != member and (had is None or had[c.REV] <= member[c.REV]):
                    members[doc_id], changed = member, True
            for doc_id, rev in unsets.get(key, {}).items():
                had = members.get(doc_id)
                if had is not None and had[c.REV] <= rev:
                    del members[doc_id]
                    changed = True
            if not changed:
                break
            fields = c.cell_fields(key)
            totals = totals_of(fields["kind"], members)
            if cell is not None and not members:
                # Its last member left: gone, as a recount would never have made it.
                if not cells.delete_one({"_id": key, "rev": cell["rev"]}).deleted_count:
                    continue
            elif cell is None:
                try:
                    cells.insert_one(
                        {"_id": key, **fields, "members": members, "totals": totals, "rev": 0}
                    )
                except DuplicateKeyError:
                    continue  # written meanwhile: read it and judge again
            else:
                won = cells.update_one(
                    {"_id": key, "rev": cell["rev"]},
                    {"$set": {"members": members, "totals": totals}, "$inc": {"rev": 1}},
                )
                if not won.matched_count:
                    continue
            written += 1
            break
    return written


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
