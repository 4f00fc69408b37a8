"""RQ jobs of confined spaces: the overstay check at the end of a permit's window and the
acknowledgement check of an alarm (timers' outbox jobs), the violation of a denied entry scan
(the scan's outbox job), and forgetting scan nonces once their requests can only be stale."""

from __future__ import annotations

from datetime import timedelta

from bson import ObjectId

from server.clock import utcnow
from server.jobs import context
from server.services.spaces import alarms, scan, violations

PRUNE_JOB_ID = "scan-nonces-prune"


def prune_scan_nonces() -> dict:
    """Delete nonces older than twice the freshness window; idempotent."""
    window = timedelta(seconds=context.settings().scan_nonce_window_seconds)
    return {"pruned": scan.prune_nonces(now=utcnow(), window=window)}


def check_overstay(permit_id: str) -> dict:
    """Anyone still inside on the permit when its window ended raises an alarm (once)."""
    alarm = alarms.check_overstay(permit_id, now=utcnow())
    return {"alarm": alarm["_id"] if alarm else None}


def check_alarm_acknowledged(alarm_id: str) -> dict:
    """An alarm nobody answering for the entrants closed in time is a violation (once)."""
    violation = alarms.check_acknowledged(alarm_id, now=utcnow())
    return {"violation": violation["_id"] if violation else None}


def record_entry_violation(entry_event_id: str) -> dict:
    """A denied entry scan's violation, recorded once however often this runs."""
    violation = violations.record_entry_event(ObjectId(entry_event_id))
    return {"violation": violation["_id"] if violation else None}
