"""`/api/v1/admin/jobs`: failed and stuck jobs, for admins (server.jobs.overview)."""

from __future__ import annotations

from flask.views import MethodView

from schemas.job import JobQuerySchema, JobSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor, services
from server.api.paging import MAX_OFFSET
from server.jobs import overview

blp = Blueprint("jobs", __name__, url_prefix="/api/v1/admin", description="Jobs (admins)")


@blp.route("/jobs")
class Jobs(MethodView):
    @blp.doc(operationId="listJobs")
    @blp.arguments(JobQuerySchema, location="query")
    @blp.response(200, JobSchema(many=True))
    @blp.paginate()
    def get(self, args, pagination_parameters):
        """Outbox entries still to run (`pending`) or failed, with RQ's failed registry (admin)."""
        svc = services()
        page = overview.listing(
            current_actor(),
            args["state"],
            redis=svc.redis,
            queue_name=svc.settings.rq_queue,
            # A page past any real list is empty (and MongoDB's skip is 64-bit).
            offset=min(pagination_parameters.first_item, MAX_OFFSET),
            limit=pagination_parameters.page_size,
        )
        pagination_parameters.item_count = page.total
        return page.items
