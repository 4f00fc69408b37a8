"""What photo evidence can be linked to: the registrations of `media.links`, made explicitly by
the wiring code (app factory and worker), so media stays ignorant of inspections.

Hazards and rectifications register here when they exist.
"""

from __future__ import annotations

from media import links
from server.services import inspections


def register_evidence_links() -> None:
    """Register every linkable kind with its resolver and arrival hook (idempotent)."""
    links.register_link_kind("inspection", inspections.photo_link_target)
    links.register_arrival_hook("inspection", inspections.on_photo_arrived)
