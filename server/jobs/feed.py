"""RQ jobs that keep the change feed current and small: sequencing after pushes, the periodic
sweep that catches a write whose dirty mark was lost in a crash (sync.sequencer), and
compaction of the log and the push receipts (sync.compaction)."""

from __future__ import annotations

import logging
from datetime import timedelta

from mongoengine.connection import get_db

from server.clock import utcnow
from server.jobs import context
from sync import compaction, figures, sequencer

log = logging.getLogger(__name__)

SEQUENCE_JOB_ID = "feed-sequence"
SWEEP_JOB_ID = "feed-sweep"
COMPACT_JOB_ID = "feed-compact"


def sequence_feed() -> int:
    """Sequence the changes pushed since the last run (pulls also do it on demand), then
    let the figures follow them (sync.figures)."""
    db = get_db()
    done = sequencer.sequence_pending(db, wait_s=30)
    figures.follow(db)
    return done


def sweep_feed() -> int:
    """Mark every synced collection dirty, then sequence: the safety net after crashes."""
    db = get_db()
    sequencer.sweep(db)
    return sequencer.sequence_pending(db, wait_s=60)


def compact_feed() -> dict:
    """Remove superseded feed entries (one bounded run) and receipts past the horizon."""
    db, now = get_db(), utcnow()
    run = compaction.compact_feed(db, now=now)
    horizon = timedelta(days=context.settings().receipt_horizon_days)
    receipts = compaction.prune_receipts(db, now=now, horizon=horizon)
    return {"examined": run.examined, "removed": run.removed, "receipts": receipts}
