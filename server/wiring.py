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
from server.jobs import audit, feed, hazards, media
from server.jobs import spaces as space_jobs
from server.jobs.outbox import RqDispatcher
from server.services import inspections, outbox
from server.services.hazards import lifecycle as hazard_lifecycle
from server.services.hazards import public_reports
from server.services.hazards.register import FINDINGS_JOB
from server.services.spaces import alarms
from server.services.spaces import ledger as space_ledger
from sync.handler import handlers
from sync.handlers.hazard import HazardHandler
from sync.handlers.inspection import InspectionHandler
from sync.handlers.permit import PermitHandler, PermitRecordHandler

#: Outbox jobs by name: (name, function). Entries name these, never import paths.
JOBS = (
    ("feed.sequence", feed.sequence_feed),
    ("audit.append", audit.append_audit_events),
    (links.ARRIVAL_JOB, media.photo_arrived),
    (FINDINGS_JOB, hazards.register_findings),
    (alarms.OVERSTAY_JOB, space_jobs.check_overstay),
)


def register_evidence_links() -> None:
    """Every linkable kind with its resolver and arrival hook (idempotent)."""
    links.register_link_kind("inspection", inspections.photo_link_target)
    links.register_arrival_hook("inspection", inspections.on_photo_arrived)
    links.register_link_kind(space_ledger.LINK_KIND, space_ledger.photo_link_target)
    links.register_arrival_hook(space_ledger.LINK_KIND, space_ledger.on_photo_arrived)
    links.register_link_kind("hazard", hazard_lifecycle.photo_link_target)
    links.register_link_kind(public_reports.LINK_KIND, public_reports.photo_link_target)


def register_push_handlers() -> None:
    """Every pushable collection with its handler."""
    handlers.register(InspectionHandler())
    handlers.register(HazardHandler())
    handlers.register(PermitHandler())
    handlers.register(PermitRecordHandler())


def register_jobs() -> None:
    for name, func in JOBS:
        outbox.register_job(name, func)


def wire(settings: Settings, redis: Redis) -> None:
    """Everything a process of the service needs registered before it serves or works."""
    register_evidence_links()
    register_push_handlers()
    register_jobs()
    outbox.configure_dispatch(RqDispatcher(redis, settings.rq_queue))
