"""RQ jobs that keep the change feed current: sequencing after pushes, and the periodic sweep
that catches a write whose dirty mark was lost in a crash (sync.sequencer)."""

from __future__ import annotations

import logging

from mongoengine.connection import get_db

from sync import sequencer

log = logging.getLogger(__name__)

SEQUENCE_JOB_ID = "feed-sequence"
SWEEP_JOB_ID = "feed-sweep"


def sequence_feed() -> int:
    """Sequence the changes pushed since the last run (pulls also do it on demand)."""
    return sequencer.sequence_pending(get_db(), wait_s=30)


def sweep_feed() -> int:
    """Mark every synced collection dirty, then sequence: the safety net after crashes."""
    db = get_db()
    sequencer.sweep(db)
    return sequencer.sequence_pending(db, wait_s=60)
