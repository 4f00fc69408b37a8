"""`GET /health`: MongoDB and Redis reachability.

503 (a problem document naming what is down) only when MongoDB is down: nothing can be served
without it. Redis down is reported with 200 and status `degraded`: the API still serves, and
writes that only need to enqueue a job record it in the outbox (MongoDB) for the worker to run
when Redis is back; a load balancer must keep sending traffic to this process.
"""

from __future__ import annotations

import logging

from flask.views import MethodView
from flask_smorest import Blueprint
from mongoengine.connection import get_db

from schemas.health import HealthSchema
from schemas.problem import ProblemSchema
from server.api.context import services
from server.api.problems import PROBLEM_MIMETYPE, problem

log = logging.getLogger(__name__)

blp = Blueprint("health", __name__, description="Service health")


def _check(name: str, ping) -> dict:
    try:
        ping()
        return {"status": "ok"}
    except Exception as exc:  # any failure of a dependency is "down", with its reason
        log.warning("health check failed", extra={"dependency": name, "error": str(exc)})
        return {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}


@blp.route("/health")
class Health(MethodView):
    @blp.doc(operationId="health", security=[])
    @blp.response(200, HealthSchema)
    @blp.alt_response(
        503,
        schema=ProblemSchema,
        content_type=PROBLEM_MIMETYPE,
        description="MongoDB is down (a problem document naming it: `checks`, `down`)",
    )
    def get(self):
        """Reports each dependency: 200 while MongoDB answers (`degraded` when Redis does not),
        503 naming the dependencies down when MongoDB does not."""
        checks = {
            "mongodb": _check("mongodb", lambda: get_db().command("ping")),
            "redis": _check("redis", services().redis.ping),
        }
        down = [name for name, c in checks.items() if c["status"] != "ok"]
        if "mongodb" in down:
            return problem(
                503,
                "Service unavailable",
                f"{' and '.join(down)} {'is' if len(down) == 1 else 'are'} down",
                checks=checks,
                down=down,
            )
        if down:
            return {"status": "degraded", "checks": checks, "down": down}
        return {"status": "ok", "checks": checks}
