"""RQ job of outgoing webhooks, run through the outbox: one attempt at a delivery."""

from __future__ import annotations

from server.jobs.context import settings
from server.services.webhooks import delivery, destination


def deliver_webhook(delivery_id: str) -> dict:
    """Attempt a delivery; raises when the receiver did not take it (the outbox retries)."""
    allowed = destination.networks(settings().webhook_allowed_networks)
    return delivery.attempt(delivery_id, allowed=allowed)
