"""Outgoing webhooks: the endpoint an enterprise receives its orders at (one per enterprise,
with the `whsec_` secret that signs them), and each delivery of an event with every attempt
(server.services.webhooks).

The secret is stored because every attempt is signed with it; the API shows it once, when it
is made.
"""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, ListField, ObjectIdField, StringField

from server.clock import utcnow


class DeliveryState:
    """Waiting for its first attempt or a retry, delivered (a 2xx answer), or given up after
    the configured attempts."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    ALL = (PENDING, DELIVERED, FAILED)


class Webhook(Document):
    #: The enterprise's id: one endpoint per enterprise.
    id = ObjectIdField(primary_key=True)
    url = StringField(required=True, max_length=2000)
    secret = StringField(required=True)
    set_by = ObjectIdField(required=True)
    set_at = DateTimeField(required=True, default=utcnow)

    meta = {"collection": "webhooks"}


class WebhookDelivery(Document):
    #: The message id (`webhook-id`), the same on every attempt: derived from event and order.
    id = StringField(primary_key=True)
    enterprise_id = ObjectIdField(required=True)
    event = StringField(required=True)
    order_id = StringField(required=True)
    #: The exact JSON bytes signed and sent, as text.
    body = StringField(required=True)
    state = StringField(required=True, choices=DeliveryState.ALL)
    #: Every attempt, oldest first: {"at", "url", "status" (None: no answer), "error",
    #: "duration_ms"}.
    attempts = ListField(DictField())
    created_at = DateTimeField(required=True, default=utcnow)
    delivered_at = DateTimeField()

    meta = {
        "collection": "webhook_deliveries",
        "indexes": [("enterprise_id", "-created_at")],
    }
