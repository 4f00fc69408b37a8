"""RQ jobs of the hazard register: the findings of a submitted inspection become hazards
(queued through the outbox with the submission, so none is lost or made twice); a
confined-space violation meeting a major-hazard criterion becomes a candidate major; a hazard's
timer does what it stands for (fired by the periodic tick through the outbox)."""

from __future__ import annotations

from datetime import timedelta

from server.clock import utcnow
from server.jobs import context
from server.services.hazards import escalation, register
from server.services.spaces import violations


def register_findings(inspection_id: str) -> list:
    """A hazard for every failed item of the inspection (idempotent: ids derive from it)."""
    window = timedelta(days=context.settings().hazard_repeat_days)
    return register.register_findings(inspection_id, now=utcnow(), repeat_window=window)


def fire_hazard_timer(hazard_id: str, key: str) -> str:
    """What a hazard's timer stands for (reminder, overdue, escalation); idempotent per timer."""
    return escalation.on_timer(hazard_id, key, now=utcnow())


def register_confined_space_violation(violation_id: str) -> str | None:
    """The candidate major a confined-space violation makes, or the open one it repeats
    (idempotent: a hazard's id derives from the violation, a repeat is counted once)."""
    fields = violations.candidate_hazard(violation_id)
    if fields is None:
        return None
    now = utcnow()
    with violations.candidate_turn(violation_id):
        first = violations.open_candidate(violation_id)
        if first is not None:
            return violations.link_repeat(violation_id, first, now=now)
        window = timedelta(days=context.settings().hazard_repeat_days)
        hazard_id = register.create_from_violation(now=now, window=window, **fields)
        violations.link_hazard(violation_id, hazard_id)
        return hazard_id
