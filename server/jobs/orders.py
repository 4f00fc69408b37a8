"""RQ jobs of orders to rectify, run through the outbox: numbering a requested order, and
rendering a numbered order's PDF (both idempotent per order, see
server.services.hazards.orders)."""

from __future__ import annotations

from datetime import timedelta

from media.label_print import Font
from server.clock import utcnow
from server.jobs import context
from server.services.hazards import orders


def number_order(order_id: str) -> dict:
    """Give a requested order its number (the same one however often it runs)."""
    window = timedelta(days=context.settings().hazard_repeat_days)
    return orders.number(order_id, now=utcnow(), repeat_window=window)


def render_order(order_id: str) -> dict:
    """Render a numbered order's PDF into the blob store."""
    settings = context.settings()
    font = Font(settings.watermark_font, settings.watermark_font_index)
    return orders.render(order_id, now=utcnow(), public_url=settings.public_url, font=font)
