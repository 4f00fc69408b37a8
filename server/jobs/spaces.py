"""RQ jobs of confined spaces: the overstay check at the end of a permit's window and the
acknowledgement check of an alarm (timers' outbox jobs), what a scan leaves behind (the scan's
outbox job), and publishing the label keys of the settings to the feed."""

from __future__ import annotations

from bson import ObjectId

from server.clock import utcnow
from server.jobs import context
from server.services.spaces import (
    alarms,
    label_keys,
    ledger,
    offline_merge,
    scan_log,
    violations,
)
from server.services.spaces.label_sheets import label_keys as keys_of

LABEL_KEYS_JOB_ID = "label-keys-publish"
MERGES_JOB_ID = "offline-merges-resume"


def resume_offline_merges() -> dict:
    """Merge again the offline decisions whose merge died past its lease; idempotent."""
    merged = offline_merge.resume_stalled(
        ledger.gas_limits(), now=utcnow(), skew_limit_s=context.settings().clock_skew_seconds
    )
    return {"merged": [d["_id"] for d in merged]}


def publish_label_keys() -> dict:
    """The settings' label keys into the feed (a rotation reaches phones); idempotent."""
    return label_keys.publish(keys_of(context.settings()), now=utcnow())


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


def record_scan(*, entry_id: str, **args) -> dict:
    """A scan's entry event, the audit of its roster change or a denial's violation, each
    once however often this runs (the arguments are the scan's: scan_log.record)."""
    return scan_log.record(**args, entry_id=entry_id)
