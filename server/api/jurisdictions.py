"""`/api/v1/jurisdictions`: regulators' areas (admins create; regulators read their own)."""

from __future__ import annotations

from flask.views import MethodView

from schemas.identity import JurisdictionCreateSchema, JurisdictionSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.jurisdiction import Jurisdiction
from server.models.scoping import get_or_404
from server.services import identity

blp = Blueprint("jurisdictions", __name__, url_prefix="/api/v1", description="Jurisdictions")


@blp.route("/jurisdictions")
class Jurisdictions(MethodView):
    @blp.doc(operationId="listJurisdictions")
    @blp.response(200, JurisdictionSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self):
        """Jurisdictions the caller may see."""
        return Jurisdiction.objects.for_actor(current_actor()).order_by("code")

    @blp.doc(operationId="createJurisdiction")
    @blp.arguments(JurisdictionCreateSchema)
    @blp.response(201, JurisdictionSchema)
    def post(self, body):
        """Create a jurisdiction (admin)."""
        return identity.create_jurisdiction(current_actor(), now=utcnow(), **body)


@blp.route("/jurisdictions/<jurisdiction_id>")
class JurisdictionById(MethodView):
    @blp.doc(operationId="getJurisdiction")
    @blp.response(200, JurisdictionSchema)
    def get(self, jurisdiction_id):
        """One jurisdiction in the caller's scope."""
        scoped = Jurisdiction.objects.for_actor(current_actor())
        return get_or_404(scoped, jurisdiction_id, "jurisdiction")
