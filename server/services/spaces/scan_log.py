"""What a scan leaves behind, and the replay guard: one outbox entry per scan request.

A scan (server.services.spaces.scan) writes one outbox entry under an id derived from its
request's nonce, bound to the user and the device (`entry_id`), before anything else it
writes. A second entry under that id cannot be written, so a replay is refused (409) whatever
the first request's outcome was: a request first denied and replayed once it would be allowed
never reaches the roster. The entry's job (`SCAN_JOB`, run by the worker after the answer)
writes what the decision leaves: its entry event, the audit event of its roster change and
the feed's note that the roster changed, and a denial's violation. The decision itself reads
once and writes once (a denial) or three times (a roster change), instead of writing each
record in the request.

- A denial's entry is written ready (`record_denial`): nothing else changed.
- An allowed scan stages its entry pending (`claim`), then changes the roster by one
  conditional update that leaves the entry's token on it (the witness of the change,
  server.services.spaces.roster), then adds the outcome to the entry and makes it ready
  (`settle`): allowed with the roster's change number and headcount, or denied when the
  roster, changed since the rules read it, refused the change.
- A crash between the claim and the roster change leaves a pending entry without a witness:
  the outbox sweep discards it (the scan did not happen). A crash between the change and the
  settle leaves a witnessed one: the sweep makes it ready and the job records an allowed
  event whose change number and headcount are unknown (null).

An entry event's id is chosen with the decision, so the answer names the event its job
writes; the entry is kept for the outbox's retention (days), which is far longer than the
nonce window: a replay within the window always finds it, and the event carries the nonce
under a unique index too.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError

from server.actor import Actor, Role
from server.errors import Conflict
from server.logs import current_request_id
from server.models.entry import EntryEvent, Roster
from server.models.outbox_entry import OutboxEntry
from server.services import outbox
from server.services.audit import record as audit
from server.services.spaces import roster, violations

SCAN_JOB = "spaces.scan_recorded"
#: The roster's fields an audit event's digest leaves out (bookkeeping of changes).
_UNAUDITED = frozenset(roster.BOOKKEEPING)


def entry_id(nonce: str) -> str:
    """The outbox entry of the scan request whose (user, device, nonce) is `nonce`."""
    # 96 bits: no two requests share one; short, as the roster keeps the latest as witnesses.
    return "scan-" + hashlib.sha256(nonce.encode()).hexdigest()[:24]


def record_denial(actor: Actor, event: dict, *, now: datetime) -> dict:
    """A denied scan's entry, ready at once; `event` gets its id. Conflict on a replay."""
    event["_id"] = ObjectId()
    job = outbox.Job(SCAN_JOB, _args(actor, event))
    if not outbox.record_once(job, entry_id(event["nonce"]), now=now):
        raise _replay()
    return event


def claim(actor: Actor, event: dict, *, now: datetime) -> str:
    """An allowed scan's entry before its roster change, pending until `settle`; `event`
    (outcome open) gets its id. Returns the token the roster change must leave. Conflict on a
    replay."""
    event["_id"] = ObjectId()
    token = entry_id(event["nonce"])
    witness = outbox.Witness(Roster._get_collection_name(), event["space_id"], "outbox", token)
    job = outbox.Job(SCAN_JOB, _args(actor, event))
    try:
        outbox.stage([job], witnesses=[witness], now=now, ids=[token])
    except (BulkWriteError, DuplicateKeyError) as exc:
        if not outbox.only_duplicates(exc):
            raise
        raise _replay() from None
    return token


def settle(
    token: str, event: dict, before: dict | None, after: dict | None, *, now: datetime
) -> None:
    """The outcome of a claimed scan, once the roster changed (`after`; `before`: the roster
    as the rules read it) or refused (`after` None)."""
    outcome = {k: event[k] for k in ("allowed", "reasons", "roster_seq", "headcount")}
    changed = {"before": _audited(before), "after": _audited(after)} if after else {}
    outbox.ready_with(token, {"outcome": outcome, **changed}, now=now)


def decision(scan_id: str, *, by: ObjectId, space_id: ObjectId) -> dict | None:
    """A scan's decision as its entry event will record it, whether or not the job has run:
    from its outbox entry (`scan_id`, kept for the outbox's retention), if `by` made it at
    `space_id`."""
    found = OutboxEntry._get_collection().find_one({"_id": scan_id}, {"job": 1, "args": 1})
    if found is None or found.get("job") != SCAN_JOB:
        return None
    args = found["args"]
    event = {**args["event"], **(args.get("outcome") or {})}
    if event["by"] != by or event["space_id"] != space_id or event["allowed"] is None:
        return None
    return event


def record(
    actor: dict,
    event: dict,
    request_id: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
    outcome: dict | None = None,
    *,
    entry_id: str,
) -> dict:
    """`SCAN_JOB`'s work, the same however often it runs: the entry event; for a roster
    change its audit event (one per change) and the feed's note; for a denial its violation."""
    event = {**event, **(outcome or {})}
    if event["allowed"] is None:
        # Settled by the sweep: the roster's witness says the change was made; the outcome
        # written after it was lost with its process.
        event["allowed"] = True
    try:
        EntryEvent._get_collection().insert_one(event)
    except DuplicateKeyError:
        pass  # written by an earlier run
    if event["allowed"]:
        who = Actor(
            user_id=actor["user_id"],
            role=Role(actor["role"]),
            jurisdiction_id=actor.get("jurisdiction_id"),
            enterprise_id=actor.get("enterprise_id"),
            device_id=actor.get("device_id"),
        )
        seq = event.get("roster_seq")
        audit.record(
            who,
            f"roster.{event['action']}",
            "roster",
            event["space_id"],
            before=before,
            after=after,
            now=event["at"],
            chain=event["jurisdiction_id"],
            request_id=request_id,
            key=f"roster:{event['space_id']}:{seq}" if seq is not None else f"scan:{entry_id}",
        )
        roster.noted_by_scan()
        return {"event": str(event["_id"]), "audited": True}
    violation = violations.on_entry_event(event, now=event["at"])
    return {"event": str(event["_id"]), "violation": violation["_id"] if violation else None}


def _args(actor: Actor, event: dict) -> dict:
    return {
        "actor": {
            "user_id": actor.user_id,
            "role": actor.role.value,
            "jurisdiction_id": actor.jurisdiction_id,
            "enterprise_id": actor.enterprise_id,
            "device_id": actor.device_id,
        },
        "event": event,
        "request_id": current_request_id(),
    }


def _audited(state: dict | None) -> dict | None:
    return None if state is None else {k: v for k, v in state.items() if k not in _UNAUDITED}


def _replay() -> Conflict:
    return Conflict("this scan request was made before (a replay)")
