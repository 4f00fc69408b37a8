"""What use cases call to audit a change: events go to their chains through the outbox, so a
change and its audit event exist together (README, "Audit log").

Two ways in, as the change is made:
- `record_events(events, now=...)` for a change that is already durable (a mongoengine save,
  an update that matched): the outbox entry is born ready. A crash between the change and
  this call loses that event; use cases whose change happens once pass a deterministic `key`
  (`"user.create:<id>"`) and record again when they are re-run, so the retry fills the gap.
- `stage_events(events, witnesses, now=...)` before a change that leaves a witness token
  (the push engine's `mutation_ids`): the entry is pending until `confirm_events` (or the
  outbox sweep finds a witness) makes it ready. Each event may carry its own witness: the
  job appends only the events whose witness is on its document, so a mutation of the batch
  that did not apply leaves no event, whatever happened to the others.
The outbox job `audit.append` (`append_batch`) gives every event without a key the key
`<entry id>:<i>` and appends; running it again appends nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pymongo.database import Database

from server.actor import Actor
from server.services import outbox
from server.services.audit import chain
from server.services.audit.event import event

#: The outbox job that appends a batch (registered in server.wiring).
JOB = "audit.append"
#: Events per outbox entry: a push of 200 mutations fits one entry (well under 16 MB).
MAX_EVENTS_PER_ENTRY = 200


def record_events(events: Iterable[dict], *, now: datetime) -> list[str]:
    """Audit changes that are already written; returns the outbox entry ids."""
    return outbox.record([outbox.Job(JOB, {"events": b}) for b in _batches(events)], now=now)


def stage_events(
    events: Iterable[dict], witnesses: Iterable[outbox.Witness] = (), *, now: datetime
) -> list[str]:
    """Audit changes about to be made; returns the outbox entry ids, to pass to
    `confirm_events` once the changes are made (or `discard_events` if none was).

    An entry is confirmed by any of `witnesses` or of its events' own witnesses; its job then
    appends the events without a witness and those whose witness is on its document."""
    ids = []
    for job, marks in jobs(events, witnesses):
        ids += outbox.stage([job], witnesses=marks, now=now)
    return ids


def jobs(
    events: Iterable[dict], witnesses: Iterable[outbox.Witness] = ()
) -> list[tuple[outbox.Job, list[outbox.Witness]]]:
    """The outbox jobs that append `events`, each with the witnesses that confirm it, for a
    caller that stages them together with jobs of its own (the push engine)."""
    shared = list(witnesses)
    out = []
    for batch in _batches(events):
        own = [
            outbox.Witness(w["c"], w["d"], w["f"], w["t"]) for e in batch if (w := e.get("witness"))
        ]
        out.append((outbox.Job(JOB, {"events": batch}), [*shared, *own]))
    return out


def confirm_events(ids: list[str], *, now: datetime) -> None:
    """The staged changes were made (some of them, possibly): let their events be appended."""
    outbox.confirm(ids, now=now)


def discard_events(ids: list[str], *, now: datetime) -> None:
    """None of the staged changes was made: their events never will be."""
    outbox.discard(ids, now=now)


def record(
    actor: Actor | None,
    action: str,
    obj_kind: str,
    obj_id,
    *,
    before,
    after,
    now: datetime,
    chain=None,
    **extra,
) -> list[str]:
    """One event for a change already written: `event(...)` then `record_events`."""
    found = event(
        actor, action, obj_kind, obj_id, before=before, after=after, now=now, chain=chain, **extra
    )
    return record_events([found], now=now)


def append_batch(db: Database, events: list[dict], *, entry_id: str) -> dict:
    """The `audit.append` job's work: keep witnessed events, key them, append them."""
    ready = []
    for i, found in enumerate(events):
        found = dict(found)
        mark = found.pop("witness", None)
        if mark is not None and not outbox.witnessed({"witnesses": [mark]}):
            continue  # its change did not happen
        found.setdefault("key", f"{entry_id}:{i}")
        ready.append(found)
    taken = chain.append(db, ready)
    return {"appended": sum(len(ns) for ns in taken.values()), "dropped": len(events) - len(ready)}


def _batches(events: Iterable[dict]) -> list[list[dict]]:
    found = list(events)
    return [found[i : i + MAX_EVENTS_PER_ENTRY] for i in range(0, len(found), MAX_EVENTS_PER_ENTRY)]
