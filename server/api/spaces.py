"""`/api/v1/spaces`: the confined-space ledger (台账), scoped to the caller, and its coverage."""

from __future__ import annotations

from flask.views import MethodView

from schemas.space import (
    CoverageSchema,
    SpaceCreateSchema,
    SpaceListQuerySchema,
    SpaceSchema,
    SpaceUpdateSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.scoping import get_or_404
from server.models.space import Space
from server.services.spaces import ledger

blp = Blueprint("spaces", __name__, url_prefix="/api/v1", description="Confined spaces")


@blp.route("/spaces")
class Spaces(MethodView):
    @blp.doc(operationId="listSpaces")
    @blp.arguments(SpaceListQuerySchema, location="query")
    @blp.response(200, SpaceSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, query):
        """Spaces the caller may see, optionally of one enterprise."""
        spaces = Space.objects.for_actor(current_actor())
        if query["enterprise_id"] is not None:
            spaces = spaces.filter(enterprise_id=query["enterprise_id"])
        return spaces.order_by("enterprise_id", "code")

    @blp.doc(operationId="createSpace")
    @blp.arguments(SpaceCreateSchema)
    @blp.response(201, SpaceSchema)
    def post(self, body):
        """Register a space (the enterprise's manager, or an admin)."""
        return ledger.create_space(current_actor(), now=utcnow(), **body)


@blp.route("/spaces/<space_id>")
class SpaceById(MethodView):
    @blp.doc(operationId="getSpace")
    @blp.etag
    @blp.response(200, SpaceSchema)
    def get(self, space_id):
        """One space in the caller's scope (ETag for conditional updates)."""
        return get_or_404(Space.objects.for_actor(current_actor()), space_id, "space")

    @blp.doc(operationId="updateSpace")
    @blp.etag
    @blp.arguments(SpaceUpdateSchema)
    @blp.response(200, SpaceSchema)
    def patch(self, body, space_id):
        """Change a space (status `retired` takes it off the ledger; it is never deleted);
        `If-Match` with the ETag from GET is required."""
        actor = current_actor()
        space = get_or_404(Space.objects.for_actor(actor), space_id, "space")
        blp.check_etag(space, SpaceSchema)
        return ledger.update_space(actor, space, now=utcnow(), **body)


@blp.route("/enterprises/<enterprise_id>/space-coverage")
class EnterpriseSpaceCoverage(MethodView):
    @blp.doc(operationId="getEnterpriseSpaceCoverage")
    @blp.response(200, CoverageSchema)
    def get(self, enterprise_id):
        """Ledger, signage and label coverage of one enterprise."""
        return ledger.enterprise_coverage(current_actor(), enterprise_id)


@blp.route("/jurisdictions/<jurisdiction_id>/space-coverage")
class JurisdictionSpaceCoverage(MethodView):
    @blp.doc(operationId="getJurisdictionSpaceCoverage")
    @blp.response(200, CoverageSchema)
    def get(self, jurisdiction_id):
        """Ledger, signage and label coverage over a jurisdiction's enterprises that have
        confined spaces (its regulators, and admins)."""
        return ledger.jurisdiction_coverage(current_actor(), jurisdiction_id)
