"""`python -m server.jobs.worker`: an RQ worker with its scheduler, configured like the API.

Jobs are JSON-serialized. The default worker forks per job; the MongoDB connection is lazy
(`connect=False`), so each job process opens its own after the fork.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from rq import Queue, Worker
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

from server.config import Settings
from server.db import connect_mongo, redis_client
from server.jobs.feed import SWEEP_JOB_ID, sweep_feed
from server.logs import configure_logging

log = logging.getLogger(__name__)

#: How often the feed sweep runs (sync.sequencer.sweep): a crash between a write and its dirty
#: mark delays that change by at most this long.
SWEEP_EVERY = timedelta(minutes=10)


def schedule_sweeps(queue: Queue, stop: threading.Event) -> None:
    """Queue the feed sweep now and every SWEEP_EVERY (one queued at a time across workers)."""
    while not stop.is_set():
        try:
            queue.enqueue(sweep_feed, job_id=SWEEP_JOB_ID, unique=True, result_ttl=0)
        except DuplicateJobError:
            pass  # the last sweep has not run yet
        except Exception as exc:  # noqa: BLE001 - keep trying while Redis is away
            log.warning("could not queue the feed sweep", extra={"error": str(exc)})
        stop.wait(SWEEP_EVERY.total_seconds())


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    connect_mongo(settings)
    redis = redis_client(settings)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    worker = Worker([queue], connection=redis, serializer=JSONSerializer)
    stop = threading.Event()
    threading.Thread(target=schedule_sweeps, args=(queue, stop), daemon=True).start()
    log.info("worker starting", extra={"queue": settings.rq_queue})
    try:
        worker.work(with_scheduler=True)
    finally:
        stop.set()


if __name__ == "__main__":
    main()
