"""The outbox's RQ side: the dispatcher that queues ready entries, the job that runs one, and
the sweep that puts back on the queue what Redis lost.

Each entry is queued as `run_entry(entry_id)` with `job_id` = entry id and RQ's own `Retry`
with backoff. At most one copy of an entry waits or runs in RQ (server.jobs.queueing): a second
dispatch of a queued entry is refused, and a finished or failed record of it is replaced. The
entry in MongoDB, not RQ, says whether the job still has to run (server.services.outbox), so
a copy delivered twice runs once.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta

from redis import Redis
from rq import Queue, Retry
from rq.job import JobStatus
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.jobs.queueing import OVER, enqueue_unique
from server.services import outbox

log = logging.getLogger(__name__)

#: Seconds between RQ's retries of a failing entry (the entry's `max_attempts` bounds them).
RETRY_INTERVALS = [10, 30, 120, 600]
#: How long RQ keeps a finished job's record; the outbox entry is the lasting one.
RESULT_TTL = 600
#: RQ kills a run after this long; shorter than every job's lease (5 minutes by default), so
#: an entry whose lease expired has no live runner.
JOB_TIMEOUT_S = 240
#: Done and discarded entries (and their runs) are kept this long for admins, then pruned.
RETENTION = timedelta(days=3)
SWEEP_JOB_ID = "outbox-sweep"


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
        outbox.fail(entry_id, _describe(exc), now=utcnow(), final=final, rev=entry["rev"])
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
    outbox.finish(entry_id, now=utcnow(), result=result, rev=entry["rev"])
    return {"done": True}


def _describe(exc: Exception) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def sweep_outbox(now: datetime | None = None) -> dict:
    """Settle pending entries, queue again the ready ones RQ does not hold and those whose
    runner died, and prune old finished ones. Idempotent; the scheduler runs it every minute."""
    now = now or utcnow()
    settled = outbox.settle_pending(now=now)
    stranded = list(outbox.stranded(now=now))
    dead = [entry_id for entry_id, died in stranded if died]
    # They waited (an outage, a dead worker): ahead of what was queued since, oldest first.
    queued = outbox.registry.dispatch(
        [entry_id for entry_id, _ in stranded], dead_runners=dead, first=True
    )
    pruned = outbox.prune(now=now, keep=RETENTION)
    if queued or dead:
        log.info("outbox sweep queued entries again", extra={"queued": queued, "dead": len(dead)})
    return {**settled, "stranded": len(stranded), "queued": queued, "pruned": pruned}


class RqDispatcher:
    """Queues outbox entries on RQ; registered with `outbox.configure_dispatch`."""

    def __init__(self, redis: Redis, queue_name: str):
        self.queue = Queue(queue_name, connection=redis, serializer=JSONSerializer)

    def __call__(
        self,
        ids: list[str],
        *,
        dead_runners: frozenset = frozenset(),
        first: bool = False,
        fresh: bool = False,
    ) -> int:
        """Queue each entry unless RQ holds a live copy; returns how many were queued.
        For `dead_runners` a `started` record is stale too (its worker died). `first`: at the
        front of the queue, in the order of `ids`. `fresh`: entries just written, which no
        queue holds yet, all queued in one round trip."""
        if fresh and not first and not dead_runners:
            return self._fresh(ids)
        queued = 0
        for entry_id in reversed(ids) if first else ids:
            replace = OVER | {JobStatus.STARTED} if entry_id in dead_runners else OVER
            queued += enqueue_unique(
                self.queue,
                run_entry,
                entry_id,
                job_id=entry_id,
                replace=replace,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                job_timeout=JOB_TIMEOUT_S,
                result_ttl=RESULT_TTL,
                failure_ttl=86400,
                at_front=first,
            )
        return queued

    def _fresh(self, ids: list[str]) -> int:
        # Without the uniqueness check `enqueue_unique` makes per job (a script call each,
        # about two thirds of the relay's CPU per entry): a copy the sweep queued meanwhile
        # only makes a second delivery, which does nothing (`run_entry` claims an entry once).
        jobs = [
            Queue.prepare_data(
                run_entry,
                (entry_id,),
                job_id=entry_id,
                retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                timeout=JOB_TIMEOUT_S,
                result_ttl=RESULT_TTL,
                failure_ttl=86400,
            )
            for entry_id in ids
        ]
        with self.queue.connection.pipeline() as pipe:
            self.queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
        return len(jobs)
