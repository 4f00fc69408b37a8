"""The outbox's RQ side: the dispatcher that queues ready entries, and the job that runs one.

Each entry is queued as `run_entry(entry_id)` with `job_id` = entry id (so a second dispatch of
a queued entry is refused by RQ, `unique=True`) and RQ's own `Retry` with backoff. The entry
in MongoDB, not RQ, says whether the job still has to run (server.services.outbox).
"""

from __future__ import annotations

import logging
import traceback

from redis import Redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.services import outbox

log = logging.getLogger(__name__)

#: Seconds between RQ's retries of a failing entry (the entry's `max_attempts` bounds them).
RETRY_INTERVALS = [10, 30, 120, 600]
#: How long RQ keeps a finished job's record; the outbox entry is the lasting one.
RESULT_TTL = 600


def run_entry(entry_id: str) -> dict | None:
    """Run one outbox entry if it still needs to run (a second delivery does nothing)."""
    now = utcnow()
    claimed = outbox.claim(entry_id, now=now)
    if claimed is None:
        return None
    entry, job = claimed
    try:
        result = outbox.run(entry, job)
    except Exception as exc:
        final = entry["attempts"] >= job.max_attempts
        outbox.fail(entry_id, _describe(exc), now=utcnow(), final=final)
        log.warning(
            "outbox job failed",
            extra={
                "entry": entry_id,
                "job": job.name,
                "attempt": entry["attempts"],
                "final": final,
            },
        )
        if final:
            return {"failed": True}
        raise  # RQ's Retry schedules the next attempt
    outbox.finish(entry_id, now=utcnow(), result=result)
    return {"done": True}


def _describe(exc: Exception) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


class RqDispatcher:
    """Queues outbox entries on RQ; registered with `outbox.configure_dispatch`."""

    def __init__(self, redis: Redis, queue_name: str):
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)

    def __call__(self, ids: list[str]) -> None:
        for entry_id in ids:
            try:
                self.queue.enqueue(
                    run_entry,
                    entry_id,
                    job_id=entry_id,
                    unique=True,
                    retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                    result_ttl=RESULT_TTL,
                    failure_ttl=86400,
                )
            except DuplicateJobError:
                pass  # queued already: one copy runs it
