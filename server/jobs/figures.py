"""RQ job of the figures: the periodic catch-up that sequences what is pending in the change
feed and then follows it into the figure cells (sync.figures). The feed job runs the same
follow after every push, so this one bounds the lag of changes made without a push (a
transition over REST, a timer)."""

from __future__ import annotations

from mongoengine.connection import get_db

from sync import figures, sequencer

FOLLOW_JOB_ID = "figures-follow"


def follow_figures() -> dict:
    """Sequence pending changes, then count every changed hazard and inspection again."""
    db = get_db()
    sequenced = sequencer.sequence_pending(db, wait_s=10)
    return {"sequenced": sequenced, "counted": figures.follow(db)}
