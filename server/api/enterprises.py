"""`/api/v1/enterprises`: the register of inspected enterprises, scoped to the caller."""

from __future__ import annotations

from flask.views import MethodView

from schemas.identity import (
    EnterpriseCreateSchema,
    EnterpriseRegimeSchema,
    EnterpriseSchema,
    EnterpriseUpdateSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.enterprise import Enterprise
from server.models.scoping import get_or_404
from server.services import identity

blp = Blueprint("enterprises", __name__, url_prefix="/api/v1", description="Enterprises")


@blp.route("/enterprises")
class Enterprises(MethodView):
    @blp.doc(operationId="listEnterprises")
    @blp.response(200, EnterpriseSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self):
        """Enterprises the caller may see."""
        return Enterprise.objects.for_actor(current_actor()).order_by("name")

    @blp.doc(operationId="createEnterprise")
    @blp.arguments(EnterpriseCreateSchema)
    @blp.response(201, EnterpriseSchema)
    def post(self, body):
        """Register an enterprise (admin, or a supervisor in their jurisdiction)."""
        return identity.create_enterprise(current_actor(), now=utcnow(), **body)


@blp.route("/enterprises/<enterprise_id>")
class EnterpriseById(MethodView):
    @blp.doc(operationId="getEnterprise")
    @blp.etag
    @blp.response(200, EnterpriseSchema)
    def get(self, enterprise_id):
        """One enterprise in the caller's scope (ETag for conditional updates)."""
        return get_or_404(
            Enterprise.objects.for_actor(current_actor()), enterprise_id, "enterprise"
        )

    @blp.doc(operationId="updateEnterprise")
    @blp.etag
    @blp.arguments(EnterpriseUpdateSchema)
    @blp.response(200, EnterpriseSchema)
    def patch(self, body, enterprise_id):
        """Change details; `If-Match` with the ETag from GET is required (no lost updates)."""
        actor = current_actor()
        enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
        blp.check_etag(enterprise, EnterpriseSchema)
        return identity.update_enterprise(actor, enterprise, now=utcnow(), **body)


@blp.route("/enterprises/<enterprise_id>/regime")
class EnterpriseRegime(MethodView):
    @blp.doc(operationId="setEnterpriseRegime")
    @blp.etag
    @blp.arguments(EnterpriseRegimeSchema)
    @blp.response(200, EnterpriseSchema)
    def put(self, body, enterprise_id):
        """Override the regime the enterprise's industry gives, with a reason (admin; audited;
        inspections already made keep the regime they were judged under). `If-Match` required."""
        actor = current_actor()
        enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
        blp.check_etag(enterprise, EnterpriseSchema)
        return identity.set_regime(actor, enterprise, now=utcnow(), **body)
