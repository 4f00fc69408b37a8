"""RQ job of outgoing webhooks, run through the outbox: one attempt at a delivery."""

from __future__ import annotations

from server.services.webhooks import delivery


def deliver_webhook(delivery_id: str) -> dict:
    """Attempt a delivery; raises when the receiver did not take it (the outbox retries)."""
    return delivery.attempt(delivery_id)
