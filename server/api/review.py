"""`/api/v1/review/queue`: what awaits the caller's review (supervisors: their jurisdiction;
admins: all), oldest first, with each entry's evidence; `/api/v1/inspections/{id}/decisions`:
approve a submitted inspection or return it with a reason per item (phones receive the
decision through the feed)."""

from __future__ import annotations

from flask.views import MethodView

from schemas.review import (
    DecisionCreateSchema,
    QueueEntrySchema,
    QueueQuerySchema,
    ReviewDecisionSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.services.review import decisions, queue

blp = Blueprint("review", __name__, url_prefix="/api/v1", description="Supervisors' review")


@blp.route("/review/queue")
class ReviewQueue(MethodView):
    @blp.doc(operationId="listReviewQueue")
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, QueueEntrySchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, args):
        """Submitted inspections not yet decided, rectification reports and majors' close-out
        applications awaiting the caller's review, oldest first."""
        return queue.pending(current_actor(), queue.Filters(**args))


@blp.route("/inspections/<inspection_id>/decisions")
class InspectionDecisions(MethodView):
    @blp.doc(operationId="listInspectionDecisions")
    @blp.response(200, ReviewDecisionSchema(many=True))
    def get(self, inspection_id):
        """The review decisions on one inspection, oldest first."""
        return decisions.on_inspection(current_actor(), inspection_id)

    @blp.doc(operationId="decideInspection")
    @blp.arguments(DecisionCreateSchema)
    @blp.response(201, ReviewDecisionSchema)
    def post(self, body, inspection_id):
        """Approve the submitted inspection, or return it with a reason per item; the same
        decision id again answers the same decision. 409 when the inspection is not awaiting
        review or was decided on another version."""
        return decisions.decide(current_actor(), inspection_id, now=utcnow(), **body)
