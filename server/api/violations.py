"""`/api/v1/violations`: confined-space violations (denied entries, the attendant leaving,
overstays, alarms unacknowledged), for the enterprise's manager and its jurisdiction's
supervisors."""

from __future__ import annotations

from flask.views import MethodView

from schemas.violation import ViolationListQuerySchema, ViolationSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.services.spaces import violations

blp = Blueprint(
    "violations", __name__, url_prefix="/api/v1", description="Confined-space violations"
)


@blp.route("/violations")
class Violations(MethodView):
    @blp.doc(operationId="listViolations")
    @blp.arguments(ViolationListQuerySchema, location="query")
    @blp.response(200, ViolationSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, query):
        """Violations the caller may see, newest first, filtered by kind, space, enterprise,
        candidacy as a major hazard and time."""
        return violations.visible(current_actor(), **query).as_pymongo()
