"""`/api/v1/alarms`: alarms at confined spaces that order the entrants out, scoped to the
caller, and their acknowledgement (phones get them through the change feed).

Online pages and apps see a new alarm by short polling `GET /alarms?status=open&since=...`
rather than a server-sent-events stream: the API runs under gunicorn with a few sync worker
threads, and each open stream would hold one of them for as long as the page stays open."""

from __future__ import annotations

from flask.views import MethodView

from schemas.alarm import AlarmListQuerySchema, AlarmSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.alarm import Alarm, AlarmStatus
from server.services.spaces import alarms

blp = Blueprint("alarms", __name__, url_prefix="/api/v1", description="Confined-space alarms")


@blp.route("/alarms")
class Alarms(MethodView):
    @blp.doc(operationId="listAlarms")
    @blp.arguments(AlarmListQuerySchema, location="query")
    @blp.response(200, AlarmSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, query):
        """Alarms the caller may see, newest first, optionally of one space or status, or
        changed since an instant (short polling: pages and apps poll this every few seconds
        to see an alarm within seconds; the feed brings it at the next pull)."""
        since = query.pop("since")
        actor = current_actor()
        if query["status"] == AlarmStatus.OPEN:
            return alarms.open_alarms(actor, space_id=query["space_id"], since=since)
        found = Alarm.objects.for_actor(actor)
        found = found.filter(**{k: v for k, v in query.items() if v is not None})
        if since is not None:
            found = found.filter(updated_at__gte=since)
        return found.order_by("-raised_at").as_pymongo()


@blp.route("/alarms/<alarm_id>")
class AlarmById(MethodView):
    @blp.doc(operationId="getAlarm")
    @blp.response(200, AlarmSchema)
    def get(self, alarm_id):
        """One alarm in the caller's scope."""
        return alarms.read(current_actor(), alarm_id)


@blp.route("/alarms/<alarm_id>/acknowledgements")
class AlarmAcknowledgements(MethodView):
    @blp.doc(operationId="acknowledgeAlarm")
    @blp.response(200, AlarmSchema)
    def post(self, alarm_id):
        """Acknowledge an alarm (its recipients); an attendant's or the manager's closes it."""
        return alarms.acknowledge(current_actor(), alarm_id, now=utcnow())
