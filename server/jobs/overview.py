"""What admins see of the jobs, and their retry: outbox entries still to run or failed, and the
jobs in RQ's failed registry (periodic jobs, and RQ's record of outbox runs that gave up).

`GET /api/v1/admin/jobs?state=pending|failed` (server/api/jobs.py) and the `jobs-retry` command
(server/cli.py) call these. `pending` are outbox entries pending, ready or running (a running
one past its lease is stuck: its runner died); it needs only MongoDB. `failed` adds RQ's failed
registry, so it needs Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from server.actor import Actor
from server.errors import Forbidden
from server.models.outbox_entry import FAILED, PENDING, READY, RUNNING
from server.services import outbox

#: Outbox states listed under each state of the admin view.
STATES = {"pending": (PENDING, READY, RUNNING), "failed": (FAILED,)}


@dataclass(frozen=True)
class Page:
    items: list[dict]
    total: int


def listing(
    actor: Actor, state: str, *, redis: Redis, queue_name: str, offset: int, limit: int
) -> Page:
    """One page of the jobs in `state`: outbox entries (oldest first), then for `failed` the
    jobs of RQ's failed registry (those failing soonest to expire first). Admins only."""
    if not actor.is_admin:
        raise Forbidden("only an admin sees the jobs")
    states = STATES[state]
    in_outbox = outbox.count(states)
    items = [_entry(e) for e in outbox.listed(states, offset=offset, limit=limit)]
    total = in_outbox
    if state == "failed":
        registry = _failed_registry(redis, queue_name)
        total += registry.count
        start = max(0, offset - in_outbox)
        room = limit - len(items)
        if room > 0:
            ids = registry.get_job_ids(start, start + room - 1, cleanup=False)
            jobs = Job.fetch_many(ids, connection=redis, serializer=JSONSerializer)
            items += [_rq_job(job_id, job) for job_id, job in zip(ids, jobs, strict=True)]
    return Page(items=items, total=total)


def retry(job_id: str, *, redis: Redis, queue_name: str, now: datetime) -> str | None:
    """Run a failed job again: a failed outbox entry (with fresh attempts), else a job of RQ's
    failed registry. Returns where it was found (`outbox`, `rq`), None when nowhere."""
    if outbox.retry(job_id, now=now):
        return "outbox"
    try:
        _failed_registry(redis, queue_name).requeue(job_id)
    except (NoSuchJobError, InvalidJobOperation):
        return None
    return "rq"


def _failed_registry(redis: Redis, queue_name: str) -> FailedJobRegistry:
    queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)
    return FailedJobRegistry(queue=queue, serializer=JSONSerializer)


def _entry(entry: dict) -> dict:
    return {
        "source": "outbox",
        "id": entry["_id"],
        "job": entry["job"],
        "state": entry["state"],
        "args": entry.get("args") or {},
        "attempts": entry.get("attempts", 0),
        "error": entry.get("last_error"),
        "created_at": entry.get("created_at"),
        "ready_at": entry.get("ready_at"),
        "started_at": entry.get("started_at"),
        "lease_until": entry.get("lease_until"),
        "finished_at": entry.get("finished_at"),
    }


def _rq_job(job_id: str, job: Job | None) -> dict:
    if job is None:  # expired between listing and fetching
        return {"source": "rq", "id": job_id, "job": None, "state": "failed"}
    result = job.latest_result()
    error = result.exc_string if result is not None and result.exc_string else None
    return {
        "source": "rq",
        "id": job.id,
        "job": job.func_name,
        "state": "failed",
        "args": {"args": list(job.args or ())},
        "error": error.strip().splitlines()[-1][:2000] if error else None,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.ended_at,
    }
