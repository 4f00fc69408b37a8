"""The roster of a confined space, changed only by single-document conditional updates, so
that what the rules forbid cannot be written at all, however many scanners race (there are no
transactions to lean on; MongoDB guarantees each single-document update atomic).

- enter: filter `worker not inside` and `headcount < maximum`; `$addToSet` + `$inc`. A second
  entry of the same worker, or the ninth of a maximum of eight, matches nothing.
- exit: filter `worker inside`; `$pull` + `$inc -1`. An exit without an entry matches nothing.
- check-in / check-out of attendants: `$addToSet` / `$pull` with the same conditions.

A scan's change carries the token of its outbox entry (`token`, server.services.spaces.scan_log):
the same update leaves it in the roster's `outbox` field, the witness that the change was made,
and the scan's job, not the scan, marks the collection dirty for the feed.

A change merged from an offline decision carries the decision's id (`mark`): the same update
records it in `merged` (the latest MERGED_MEMORY) and matches nothing when it is there
already, so a merge resumed after a crash cannot apply its change twice (`has_merged`).

Every change increments `seq` and returns the roster as it made it: the entry event stores
that `seq` and headcount, so the log of events replays the roster in its own order. The
roster as made is the one before the update (`ReturnDocument.BEFORE`) with the change applied
here: the embedded server's `new: true` reply may already show a later client's write. The
moment the space empties is set by a second update conditional on that `seq` (nobody entered
meanwhile); it starts the break after which the rules require a new test. The collection is
marked dirty for the feed once per change, after its last write.
"""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo import ReturnDocument

from server.models.entry import Roster
from server.models.synced import mark_dirty, new_fields

_COLLECTION = Roster._get_collection_name()
#: Offline decisions a roster remembers as merged: far more than one device merges while a
#: crashed merge waits for its lease (server.services.spaces.offline_merge).
MERGED_MEMORY = 200
#: Scans' outbox tokens a roster keeps: far more changes than a space sees between two runs of
#: the outbox sweep, which settles the entry of a scan whose process died after its change.
TOKEN_MEMORY = 50
#: Bookkeeping fields no decision reads (left out of the reads that serve one).
BOOKKEEPING = ("merged", "outbox")


def _rosters():
    return Roster._get_collection()


def _synced(update: dict) -> dict:
    """`update` flagging the roster for the change feed (server.models.synced): the
    attendant's phone holds the roster offline."""
    return {
        **update,
        "$set": {**update.get("$set", {}), "sync_seq": None},
        "$inc": {**update.get("$inc", {}), "sync_rev": 1},
    }


def _change(
    filter_: dict,
    update: dict,
    mark: str | None = None,
    *,
    dirty: bool = True,
    token: str | None = None,
) -> dict | None:
    """One conditional change; the roster before it (None: the filter matched nothing, or
    the change of `mark` was made before). `dirty=False`: the caller marks the collection
    dirty itself, after a second write of the same change; with a scan's `token` its job
    does."""
    pushed = {}
    if mark is not None:
        filter_ = {**filter_, "merged": {"$ne": mark}}
        pushed["merged"] = {"$each": [mark], "$slice": -MERGED_MEMORY}
    if token is not None:
        pushed["outbox"] = {"$each": [token], "$slice": -TOKEN_MEMORY}
    if pushed:
        update = {**update, "$push": pushed}
    before = _rosters().find_one_and_update(
        filter_,
        _synced(update),
        {f: 0 for f in BOOKKEEPING},
        return_document=ReturnDocument.BEFORE,
    )
    if before is not None and dirty and token is None:
        mark_dirty(_COLLECTION)
    return before


def has_merged(space_id: ObjectId, mark: str) -> bool:
    """Whether the change of offline decision `mark` was made."""
    return _rosters().find_one({"_id": space_id, "merged": mark}, {"_id": 1}) is not None


def current(space_id: ObjectId) -> dict:
    """The space's roster (empty if nobody was ever there)."""
    return _rosters().find_one({"_id": space_id}) or empty(space_id)


def ensure(space: dict) -> None:
    """Make the space's roster if it has none (idempotent)."""
    _rosters().update_one(
        {"_id": space["_id"]},
        {
            "$setOnInsert": {
                "enterprise_id": space["enterprise_id"],
                "jurisdiction_id": space["jurisdiction_id"],
                "inside": [],
                "headcount": 0,
                "entered_on": {},
                "attendants": [],
                "seq": 0,
                **new_fields(),
            }
        },
        upsert=True,
    )
    mark_dirty(_COLLECTION)


def enter(
    space_id: ObjectId,
    worker: ObjectId,
    permit_id: str,
    maximum: int | None,
    mark: str | None = None,
    *,
    token: str | None = None,
) -> dict | None:
    """The roster after `worker` entered, or None when they are inside already or the
    headcount is at `maximum` (None: an entry that happened offline, recorded as it was)."""
    bound = {} if maximum is None else {"headcount": {"$lt": maximum}}
    before = _change(
        {"_id": space_id, "inside": {"$ne": worker}, **bound},
        {
            "$addToSet": {"inside": worker},
            "$inc": {"headcount": 1, "seq": 1},
            "$set": {f"entered_on.{worker}": permit_id},
        },
        mark,
        token=token,
    )
    if before is None:
        return None
    entered_on = {**(before.get("entered_on") or {}), str(worker): permit_id}
    inside = [*before["inside"], worker]
    return _made(before, inside=inside, headcount=len(inside), entered_on=entered_on)


def exit(
    space_id: ObjectId,
    worker: ObjectId,
    *,
    now: datetime,
    mark: str | None = None,
    token: str | None = None,
) -> dict | None:
    """The roster after `worker` left, or None when they were not inside."""
    before = _change(
        {"_id": space_id, "inside": worker},
        {
            "$pull": {"inside": worker},
            "$inc": {"headcount": -1, "seq": 1},
            "$unset": {f"entered_on.{worker}": ""},
        },
        mark,
        dirty=False,
        token=token,
    )
    if before is None:
        return None
    entered_on = {k: v for k, v in (before.get("entered_on") or {}).items() if k != str(worker)}
    inside = [w for w in before["inside"] if w != worker]
    after = _made(before, inside=inside, headcount=len(inside), entered_on=entered_on)
    if after["headcount"] == 0:
        _rosters().update_one(
            {"_id": space_id, "seq": after["seq"], "headcount": 0},
            _synced({"$set": {"emptied_at": now}}),
        )
        after["emptied_at"] = now
    # After both writes: a sequencer round between them could otherwise clear the mark and
    # leave `emptied_at` unsequenced until the feed's sweep.
    if token is None:
        mark_dirty(_COLLECTION)
    return after


def check_in(
    space_id: ObjectId, attendant: ObjectId, mark: str | None = None, *, token: str | None = None
) -> dict | None:
    """The roster after `attendant` checked in, or None when they had already."""
    before = _change(
        {"_id": space_id, "attendants": {"$ne": attendant}},
        {"$addToSet": {"attendants": attendant}, "$inc": {"seq": 1}},
        mark,
        token=token,
    )
    if before is None:
        return None
    return _made(before, attendants=[*before["attendants"], attendant])


def check_out(
    space_id: ObjectId, attendant: ObjectId, mark: str | None = None, *, token: str | None = None
) -> dict | None:
    """The roster after `attendant` checked out, or None when they had not checked in."""
    before = _change(
        {"_id": space_id, "attendants": attendant},
        {"$pull": {"attendants": attendant}, "$inc": {"seq": 1}},
        mark,
        token=token,
    )
    if before is None:
        return None
    return _made(before, attendants=[a for a in before["attendants"] if a != attendant])


def noted_by_scan() -> None:
    """A scan's job: the roster it changed awaits the feed."""
    mark_dirty(_COLLECTION)


def list_alarm(space_id: ObjectId, alarm_id: str) -> None:
    """List an open alarm on the roster (nobody enters while one is open)."""
    _change({"_id": space_id}, {"$addToSet": {"alarms": alarm_id}})


def unlist_alarm(space_id: ObjectId, alarm_id: str) -> None:
    _change({"_id": space_id}, {"$pull": {"alarms": alarm_id}})


def _made(before: dict, **changes) -> dict:
    """The roster as one change made it from `before` (every change increments `seq`)."""
    return {**before, **changes, "seq": before["seq"] + 1}


def empty(space_id: ObjectId) -> dict:
    """The roster of a space nobody was ever at."""
    return {"_id": space_id, "inside": [], "headcount": 0, "entered_on": {}, "attendants": []}
