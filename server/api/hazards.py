"""`/api/v1/hazards`: the hazard register read over REST and its lifecycle transitions, scoped to
the caller (supervisors their jurisdiction's, inspectors those they found, an enterprise's
manager its own). Phones also get hazards through the feed, and managers self-report by push."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from schemas.hazard import (
    HazardCreateSchema,
    HazardQuerySchema,
    HazardSchema,
    TransitionRowSchema,
    TransitionSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.services.hazards import lifecycle, register, states
from server.services.spaces.label_sheets import label_keys

blp = Blueprint("hazards", __name__, url_prefix="/api/v1", description="Hazards")


@blp.route("/hazards")
class Hazards(MethodView):
    @blp.doc(operationId="listHazards")
    @blp.arguments(HazardQuerySchema, location="query")
    @blp.response(200, HazardSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, args):
        """Hazards the caller may see, newest first."""
        return lifecycle.visible(current_actor(), **args)

    @blp.doc(operationId="createHazard")
    @blp.arguments(HazardCreateSchema)
    @blp.response(201, HazardSchema)
    def post(self, body):
        """Record a hazard by hand (inspectors and supervisors); linked to an earlier one it
        repeats."""
        actor, now = current_actor(), utcnow()
        window = timedelta(days=settings().hazard_repeat_days)
        hazard_id = register.create_by_hand(actor, now=now, window=window, **body)
        return lifecycle.read(actor, hazard_id)


@blp.route("/hazards/transitions")
class HazardTransitions(MethodView):
    @blp.doc(operationId="listHazardTransitions")
    @blp.response(200, TransitionRowSchema(many=True))
    def get(self):
        """The lifecycle as data: per transition the states it leaves and enters, who takes
        it, what it requires and where it comes from."""
        current_actor()
        return states.table()


@blp.route("/hazards/<hazard_id>")
class HazardById(MethodView):
    @blp.doc(operationId="getHazard")
    @blp.etag
    @blp.response(200, HazardSchema)
    def get(self, hazard_id):
        """One hazard in the caller's scope (ETag for transitions)."""
        return lifecycle.read(current_actor(), hazard_id)


@blp.route("/hazards/<hazard_id>/transitions")
class HazardTransitionById(MethodView):
    @blp.doc(operationId="takeHazardTransition")
    @blp.arguments(TransitionSchema)
    @blp.response(200, HazardSchema)
    def post(self, body, hazard_id):
        """Take a transition of the table on the `version` the caller saw (409 when the hazard
        changed since: no decision on a state nobody looked at). Refusals list every unmet
        requirement (`reasons`)."""
        action, version = body.pop("action"), body.pop("version")
        return lifecycle.take(
            current_actor(),
            hazard_id,
            action,
            body,
            now=utcnow(),
            version=version,
            label_keys=label_keys(settings()),
        )
