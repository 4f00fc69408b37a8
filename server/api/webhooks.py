"""`/api/v1/enterprises/<id>/webhook`: where an enterprise receives its orders, signed per
Standard Webhooks, and the deliveries made to it (admins and the enterprise's manager)."""

from __future__ import annotations

from flask.views import MethodView

from schemas.webhook import (
    WebhookDeliverySchema,
    WebhookSchema,
    WebhookSetSchema,
    WebhookWithSecretSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.services.webhooks import delivery, destination, endpoint

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Outgoing webhooks")


@blp.route("/enterprises/<enterprise_id>/webhook")
class EnterpriseWebhook(MethodView):
    @blp.doc(operationId="getEnterpriseWebhook")
    @blp.response(200, WebhookSchema)
    def get(self, enterprise_id):
        """The enterprise's webhook (never its secret)."""
        return endpoint.read(current_actor(), enterprise_id)

    @blp.doc(operationId="setEnterpriseWebhook")
    @blp.arguments(WebhookSetSchema)
    @blp.response(200, WebhookWithSecretSchema)
    def put(self, body, enterprise_id):
        """Point the enterprise's webhook at a URL; the answer holds the new secret, once.
        Orders issued or served from now on are delivered there."""
        allowed = destination.networks(settings().webhook_allowed_networks)
        return endpoint.set_url(
            current_actor(), enterprise_id, body["url"], allowed=allowed, now=utcnow()
        )


@blp.route("/enterprises/<enterprise_id>/webhook/deliveries")
class EnterpriseWebhookDeliveries(MethodView):
    @blp.doc(operationId="listWebhookDeliveries")
    @blp.response(200, WebhookDeliverySchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, enterprise_id):
        """Deliveries to the enterprise's webhook, newest first, each attempt with its status
        code, time and error."""
        return delivery.listed(current_actor(), enterprise_id)
