"""RQ jobs of the hazard register: the findings of a submitted inspection become hazards
(queued through the outbox with the submission, so none is lost or made twice)."""

from __future__ import annotations

from datetime import timedelta

from server.clock import utcnow
from server.jobs import context
from server.services.hazards import register


def register_findings(inspection_id: str) -> list:
    """A hazard for every failed item of the inspection (idempotent: ids derive from it)."""
    window = timedelta(days=context.settings().hazard_repeat_days)
    return register.register_findings(inspection_id, now=utcnow(), repeat_window=window)
