"""RQ job of the timers: the periodic tick that fires due timers through the outbox
(server.services.timers). RQ's scheduler only drives the tick; the due dates live in MongoDB."""

from __future__ import annotations

from datetime import timedelta

from server.clock import utcnow
from server.services import timers

TICK_JOB_ID = "timers-tick"
#: Fired and canceled timers are kept this long (what fired when), then deleted.
RETENTION = timedelta(days=30)


def tick_timers() -> dict:
    """Fire every due timer once; idempotent, so a repeated or concurrent tick is harmless."""
    now = utcnow()
    return {"fired": timers.fire_due(now=now), "pruned": timers.prune(now=now, keep=RETENTION)}
