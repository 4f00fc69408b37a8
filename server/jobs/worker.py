"""`python -m server.jobs.worker`: an RQ worker with its scheduler, configured like the API,
plus the periodic maintenance the embedded server cannot do by itself (no TTL indexes).

Jobs are JSON-serialized. The default worker forks per job; the MongoDB connection is lazy
(`connect=False`), so each job process opens its own after the fork.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from rq import Queue, Worker
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from server.config import Settings
from server.db import connect_mongo, redis_client
from server.jobs import context
from server.jobs.auth import purge_dead_tokens
from server.jobs.feed import COMPACT_JOB_ID, SWEEP_JOB_ID, compact_feed, sweep_feed
from server.jobs.media import maintain_uploads, resume_ingests
from server.logs import configure_logging
from server.wiring import wire

log = logging.getLogger(__name__)

#: (job, job id, every): a crash between a write and its dirty mark delays that change by at
#: most the sweep interval; stale partial uploads and dead tokens go within theirs; an
#: ingest whose request died is finished within a minute.
PERIODIC: tuple[tuple[Callable, str, timedelta], ...] = (
    (sweep_feed, SWEEP_JOB_ID, timedelta(minutes=10)),
    (maintain_uploads, "uploads-maintenance", timedelta(minutes=15)),
    (resume_ingests, "ingests-resume", timedelta(minutes=1)),
    (purge_dead_tokens, "tokens-purge", timedelta(hours=1)),
    (compact_feed, COMPACT_JOB_ID, timedelta(minutes=15)),
)


def schedule_periodic(queue: Queue, stop: threading.Event, tick: timedelta) -> None:
    """Queue each periodic job when due (one queued copy at a time across workers)."""
    due = {job_id: 0.0 for _job, job_id, _every in PERIODIC}
    elapsed = 0.0
    while not stop.is_set():
        for job, job_id, every in PERIODIC:
            if elapsed >= due[job_id]:
                try:
                    queue.enqueue(job, job_id=job_id, unique=True, result_ttl=0)
                except DuplicateJobError:
                    pass  # the last run has not happened yet
                except Exception as exc:  # noqa: BLE001 - keep trying while Redis is away
                    log.warning(
                        "could not queue a periodic job", extra={"job": job_id, "error": str(exc)}
                    )
                    continue
                due[job_id] = elapsed + every.total_seconds()
        stop.wait(tick.total_seconds())
        elapsed += tick.total_seconds()


def main() -> None:
    settings = Settings.from_env()
    context.configure(settings)  # jobs read these, never the environment
    configure_logging(settings.log_level)
    connect_mongo(settings)
    redis = redis_client(settings)
    wire(settings, redis)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    worker = Worker([queue], connection=redis, serializer=JSONSerializer)
    stop = threading.Event()
    threading.Thread(
        target=schedule_periodic, args=(queue, stop, timedelta(minutes=1)), daemon=True
    ).start()
    log.info("worker starting", extra={"queue": settings.rq_queue})
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
