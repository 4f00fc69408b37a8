"""An enterprise's outgoing webhook (the secret only in the answer that made it) and its
deliveries with every attempt."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.webhook import DeliveryState


class WebhookSetSchema(RequestSchema):
    """Where the enterprise receives its orders (a new secret is made each time)."""

    url = ma.fields.String(
        required=True,
        validate=ma.validate.Length(8, 2000),
        metadata={"description": "http(s) URL the signed deliveries are POSTed to"},
    )


class WebhookSchema(ma.Schema):
    enterprise_id = ObjectIdString(required=True)
    url = ma.fields.String(required=True)
    set_by = ObjectIdString(required=True)
    set_at = Timestamp(required=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = ma.fields.String(
        required=True,
        metadata={"description": "the `whsec_` secret that signs deliveries; shown only now"},
    )


class DeliveryAttemptSchema(ma.Schema):
    at = Timestamp(required=True)
    url = ma.fields.String(required=True)
    status = ma.fields.Integer(allow_none=True, metadata={"description": "None: no answer"})
    error = ma.fields.String(allow_none=True)
    duration_ms = ma.fields.Integer(required=True)


class WebhookDeliverySchema(ma.Schema):
    id = ma.fields.String(required=True, metadata={"description": "the `webhook-id`"})
    event = ma.fields.String(required=True, metadata={"example": "order.issued"})
    order_id = ma.fields.String(required=True)
    state = ma.fields.String(required=True, validate=ma.validate.OneOf(DeliveryState.ALL))
    attempts = ma.fields.List(ma.fields.Nested(DeliveryAttemptSchema), required=True)
    created_at = Timestamp(required=True)
    delivered_at = Timestamp(allow_none=True)
