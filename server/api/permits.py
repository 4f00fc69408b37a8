"""`/api/v1/permits`: entry permits of confined spaces and their records, scoped to the caller
(the enterprise's people, the supervisors of its jurisdiction, admins). Phones push the same
permits and records (sync.handlers.permit) and get them through the change feed."""

from __future__ import annotations

from flask.views import MethodView

from schemas.permit import (
    PermitCreateSchema,
    PermitListQuerySchema,
    PermitRecordCreateSchema,
    PermitRecordSchema,
    PermitSchema,
    PermitTransitionSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.permit import Permit
from server.services.spaces import permits

blp = Blueprint("permits", __name__, url_prefix="/api/v1", description="Entry permits")


@blp.route("/permits")
class Permits(MethodView):
    @blp.doc(operationId="listPermits")
    @blp.arguments(PermitListQuerySchema, location="query")
    @blp.response(200, PermitSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, query):
        """Permits the caller may see, newest first, optionally of one space or state."""
        found = Permit.objects.for_actor(current_actor())
        found = found.filter(**{k: v for k, v in query.items() if v is not None})
        return found.order_by("-created_at").as_pymongo()

    @blp.doc(operationId="createPermit")
    @blp.arguments(PermitCreateSchema)
    @blp.response(201, PermitSchema)
    def post(self, body):
        """Make a draft permit (the enterprise's manager, or an admin)."""
        body.pop("device_time", None)
        return permits.create(current_actor(), body, now=utcnow())


@blp.route("/permits/<permit_id>")
class PermitById(MethodView):
    @blp.doc(operationId="getPermit")
    @blp.response(200, PermitSchema)
    def get(self, permit_id):
        """One permit in the caller's scope."""
        return permits.read(current_actor(), permit_id)


@blp.route("/permits/<permit_id>/transitions")
class PermitTransitions(MethodView):
    @blp.doc(operationId="takePermitTransition")
    @blp.arguments(PermitTransitionSchema)
    @blp.response(200, PermitSchema)
    def post(self, body, permit_id):
        """Approve, activate, suspend, resume, close or cancel, on the `version` the caller
        saw (409 when the permit changed since)."""
        action, version = body.pop("action"), body.pop("version")
        return permits.take(current_actor(), permit_id, action, body, now=utcnow(), version=version)


@blp.route("/permits/<permit_id>/records")
class PermitRecords(MethodView):
    @blp.doc(operationId="listPermitRecords")
    @blp.response(200, PermitRecordSchema(many=True))
    def get(self, permit_id):
        """A permit's records, in the order the server received them."""
        permit = permits.read(current_actor(), permit_id)
        return permits.records_of(permit["_id"])

    @blp.doc(operationId="appendPermitRecord")
    @blp.arguments(PermitRecordCreateSchema)
    @blp.response(201, PermitRecordSchema)
    def post(self, body, permit_id):
        """Append a record (briefing, isolation, unlock, PPE, rescue kit, Ex equipment,
        ventilation start or stop, gas test, monitoring); records are never changed."""
        body["permit_id"] = str(permit_id)
        return permits.append_record(current_actor(), body, now=utcnow())
