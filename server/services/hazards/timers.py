"""The timers of a hazard: which of the platform's timers (server.services.timers) a hazard in
its current state and with its current deadline needs, and arming them.

The clocks are data (server.services.hazards.timings): each runs while the hazard is in given
states and falls due a number of days after a start — its deadline, or the instant it entered
the state — with reminders some days before. A timer's key names the hazard, the clock, the
start and the event (`hazard:<id>:rectification:2026-12-15T16:00:00.000Z:due`), so a new
deadline or a new report is a new key: a key fires once, and the old one is canceled.

`rearm(before, after, now=...)` is the one function every writer of a hazard's state or
deadline calls after its write (the lifecycle's transitions; an order's service setting the
deadline): it schedules what `after` needs (idempotent) and cancels what only `before` needed.
The lifecycle also `arm`s the state a transition leads to before writing it, so a crash
between the write and `rearm` leaves no hazard without its timers.
A timer that fires is judged again against the hazard as it is then (`current`), so one left
armed by a crash between a write and its `rearm`, or a cancel that lost a race with the tick,
does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.clock import rfc3339
from server.services import outbox, timers
from server.services.hazards.timings import FROM_DEADLINE, OVERDUE, Clock, load

#: The outbox job a hazard's timer runs (registered in server.wiring).
TIMER_JOB = "hazards.timer"
DUE, REMIND = "due", "remind"


@dataclass(frozen=True)
class Armed:
    """One timer a hazard needs."""

    key: str
    #: When the timer fires; `ends`: the due date of its clock (a reminder fires before it).
    due_at: datetime
    ends: datetime
    clock: str
    event: str
    start: str

    @property
    def job(self) -> outbox.Job:
        return outbox.Job(TIMER_JOB, {"hazard_id": self.hazard_id, "key": self.key})

    @property
    def hazard_id(self) -> str:
        return self.key.split(":")[1]


def start_of(clock: Clock, hazard: dict) -> datetime | None:
    """What `clock` counts from for `hazard` as it is: its deadline, or when it entered its
    state (the last transition that changed the state); None when the clock does not run."""
    if hazard.get("state") not in clock.states:
        return None
    if clock.start == FROM_DEADLINE:
        return hazard.get("deadline")
    for entry in reversed(hazard.get("history") or ()):
        if entry.get("to") == hazard["state"] and entry.get("from") != entry.get("to"):
            return entry["at"]
    return None


def wanted(hazard: dict, *, now: datetime | None = None) -> dict[str, Armed]:
    """Every timer `hazard` needs, by key; with `now`, reminders already past are left out
    (a deadline set two days ahead gets no reminder three days before it)."""
    out: dict[str, Armed] = {}
    for clock in load().clocks.values():
        start = start_of(clock, hazard)
        if start is None:
            continue
        due, stamp = clock.due(start), rfc3339(start)
        base = f"hazard:{hazard['_id']}:{clock.name}:{stamp}"
        out[f"{base}:{DUE}"] = Armed(f"{base}:{DUE}", due, due, clock.name, DUE, stamp)
        for lead in clock.remind_before:
            key = f"{base}:{REMIND}-{lead.days}d"
            if now is None or due - lead > now:
                out[key] = Armed(key, due - lead, due, clock.name, REMIND, stamp)
    return out


def arm(hazard: dict, *, now: datetime) -> dict[str, Armed]:
    """Schedule every timer `hazard` needs (idempotent); returns them by key."""
    armed = wanted(hazard, now=now)
    for timer in armed.values():
        timers.schedule(timer.key, timer.due_at, timer.job, now=now)
    return armed


def rearm(before: dict | None, after: dict, *, now: datetime) -> list[str]:
    """Schedule the timers `after` needs and cancel those only `before` needed; returns the
    keys armed. Call it after every write that changes a hazard's state or deadline."""
    armed = arm(after, now=now)
    for key in wanted(before) if before else ():
        if key not in armed:
            timers.cancel(key, now=now)
    return list(armed)


def current(hazard: dict | None, key: str) -> Armed | None:
    """The timer `key` as `hazard` still needs it, or None when it is stale (the deadline
    moved, the state changed). A deadline's timer that has made the hazard overdue stays
    current while the hazard is overdue on that deadline, so its job can finish after a crash."""
    if hazard is None:
        return None
    found = wanted(hazard).get(key)
    if found is not None:
        return found
    if hazard.get("state") == OVERDUE and hazard.get("deadline") is not None:
        for clock in load().clocks.values():
            if clock.at_due == OVERDUE:
                base = f"hazard:{hazard['_id']}:{clock.name}:{rfc3339(hazard['deadline'])}"
                if key == f"{base}:{DUE}":
                    due = clock.due(hazard["deadline"])
                    return Armed(key, due, due, clock.name, DUE, base)
    return None
