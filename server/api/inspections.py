"""`/api/v1/inspections`: inspections read over REST, scoped to the caller (supervisors their
jurisdiction's, inspectors their own, enterprise managers the submitted ones of their firm).
Phones write them through the sync push; nothing here changes one."""

from __future__ import annotations

from flask.views import MethodView

from schemas.inspection import InspectionQuerySchema, InspectionSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.services import inspections

blp = Blueprint("inspections", __name__, url_prefix="/api/v1", description="Inspections")


@blp.route("/inspections")
class Inspections(MethodView):
    @blp.doc(operationId="listInspections")
    @blp.arguments(InspectionQuerySchema, location="query")
    @blp.response(200, InspectionSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, args):
        """Inspections the caller may see, newest first; deleted drafts are left out."""
        return inspections.visible(current_actor(), **args)


@blp.route("/inspections/<inspection_id>")
class InspectionById(MethodView):
    @blp.doc(operationId="getInspection")
    @blp.etag
    @blp.response(200, InspectionSchema)
    def get(self, inspection_id):
        """One inspection in the caller's scope."""
        return inspections.read(current_actor(), inspection_id)
