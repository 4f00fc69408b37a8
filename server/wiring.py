"""The registrations of the running service, made in one place: what photo evidence can be
linked to, which collections phones push, which jobs the outbox can run, and how ready jobs
reach RQ.

Called by the app factory and by the worker (`wire`), never at import time, so the packages
below stay ignorant of each other: media knows no inspections, the outbox knows no jobs.
"""

from __future__ import annotations

from redis import Redis

from media import links
from server.config import Settings
from server.jobs import audit, feed, hazards, media, orders
from server.jobs import spaces as space_jobs
from server.jobs import webhooks as webhook_jobs
from server.jobs.outbox import RqDispatcher
from server.services import inspections, outbox
from server.services.hazards import lifecycle as hazard_lifecycle
from server.services.hazards import public_reports
from server.services.hazards.orders import NUMBER_JOB, RENDER_JOB
from server.services.hazards.register import FINDINGS_JOB
from server.services.hazards.timers import TIMER_JOB as HAZARD_TIMER_JOB
from server.services.spaces import alarms, scan_log, violations
from server.services.spaces import ledger as space_ledger
from server.services.spaces.label_sheets import label_keys
from server.services.webhooks import delivery as webhook_delivery
from sync.handler import handlers
from sync.handlers.entry_decision import EntryDecisionHandler
from sync.handlers.hazard import HazardHandler
from sync.handlers.inspection import InspectionHandler
from sync.handlers.permit import PermitHandler, PermitRecordHandler

#: Outbox jobs by name: (name, function). Entries name these, never import paths.
JOBS = (
    ("feed.sequence", feed.sequence_feed),
    ("audit.append", audit.append_audit_events),
    (links.ARRIVAL_JOB, media.photo_arrived),
    (FINDINGS_JOB, hazards.register_findings),
    (NUMBER_JOB, orders.number_order),
    (RENDER_JOB, orders.render_order),
    (HAZARD_TIMER_JOB, hazards.fire_hazard_timer),
    (alarms.OVERSTAY_JOB, space_jobs.check_overstay),
    (violations.ACKNOWLEDGE_JOB, space_jobs.check_alarm_acknowledged),
    (violations.HAZARD_JOB, hazards.register_confined_space_violation),
    (violations.ENTRY_JOB, space_jobs.record_entry_violation),
    (scan_log.SCAN_JOB, space_jobs.record_scan),
)


def register_evidence_links() -> None:
    """Every linkable kind with its resolver and arrival hook (idempotent)."""
    links.register_link_kind("inspection", inspections.photo_link_target)
    links.register_arrival_hook("inspection", inspections.on_photo_arrived)
    links.register_link_kind(space_ledger.LINK_KIND, space_ledger.photo_link_target)
    links.register_arrival_hook(space_ledger.LINK_KIND, space_ledger.on_photo_arrived)
    links.register_link_kind("hazard", hazard_lifecycle.photo_link_target)
    # The firm's "after" photos of its rectification: seen by whoever sees the hazard.
    links.register_link_kind("rectification", hazard_lifecycle.photo_link_target)
    links.register_link_kind(public_reports.LINK_KIND, public_reports.photo_link_target)


def register_push_handlers(settings: Settings | None = None) -> None:
    """Every pushable collection with its handler (hazards verify space labels with the
    settings' keys: none without settings)."""
    handlers.register(InspectionHandler())
    handlers.register(HazardHandler(label_keys(settings) if settings else ()))
    handlers.register(PermitHandler())
    handlers.register(PermitRecordHandler())
    handlers.register(EntryDecisionHandler())


def register_jobs() -> None:
    for name, func in JOBS:
        outbox.register_job(name, func)
    # Attempts at a delivery are a policy kept as data (server/services/webhooks/delivery.yaml).
    outbox.register_job(
        webhook_delivery.DELIVER_JOB,
        webhook_jobs.deliver_webhook,
        max_attempts=webhook_delivery.policy().attempts,
    )


def wire(settings: Settings, redis: Redis, *, relay: bool = False) -> None:
    """Everything a process of the service needs registered before it serves or works.
    `relay`: the API's processes hand their outbox entries to Redis on a thread of their own
    (server.services.relay); the worker and the CLI dispatch them at once."""
    register_evidence_links()
    register_push_handlers(settings)
    register_jobs()
    outbox.configure_dispatch(RqDispatcher(redis, settings.rq_queue), relay=relay)
