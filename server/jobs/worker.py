"""`python -m server.jobs.worker`: the RQ worker, configured like the API, that outlives Redis;
and `PERIODIC`, the periodic jobs the scheduler process queues (server.jobs.scheduler).

Jobs are JSON-serialized. The default worker forks per job; the MongoDB connection is lazy
(`connect=False`), so each job process opens its own after the fork. RQ's own scheduler runs
beside it (`with_scheduler=True`): it moves delayed jobs and `Retry` back-offs onto the queue.

When Redis goes away RQ's worker either waits by itself (idle) or quits (mid-job); then this
process waits for Redis (server.jobs.outage) and starts a fresh RQ worker. Either way, once
Redis is back it queues the `CATCH_UP` jobs at once: the outbox sweep puts back what Redis
lost, the timer tick fires what fell due meanwhile. Only SIGTERM or SIGINT end it.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Queue, Worker, worker_registration
from rq.serializers import JSONSerializer

from server.config import Settings
from server.db import connect_mongo, redis_client
from server.jobs import context, outbox
from server.jobs.audit import sign_audit_heads
from server.jobs.auth import purge_dead_tokens, purge_login_windows
from server.jobs.feed import COMPACT_JOB_ID, SWEEP_JOB_ID, compact_feed, sweep_feed
from server.jobs.figures import FOLLOW_JOB_ID, follow_figures
from server.jobs.media import maintain_uploads, resume_ingests
from server.jobs.outage import BACKOFF_S, Outage, wait_for_redis
from server.jobs.queueing import enqueue_unique
from server.jobs.spaces import (
    LABEL_KEYS_JOB_ID,
    MERGES_JOB_ID,
    publish_label_keys,
    resume_offline_merges,
)
from server.jobs.timers import TICK_JOB_ID, tick_timers
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
    (sign_audit_heads, "audit-sign", timedelta(minutes=5)),
    # What Redis lost waits at most this long for its job (the worker also sweeps at once
    # when Redis is back), and a dead worker's entry this long after its lease.
    (outbox.sweep_outbox, outbox.SWEEP_JOB_ID, timedelta(minutes=1)),
    # Timers fire at most this late (server.services.timers).
    (tick_timers, TICK_JOB_ID, timedelta(seconds=30)),
    (purge_login_windows, "login-windows-purge", timedelta(hours=1)),
    # A change of LABEL_SIGNING_KEYS reaches the feed at the worker's start (CATCH_UP).
    (publish_label_keys, LABEL_KEYS_JOB_ID, timedelta(minutes=10)),
    # An offline decision whose merge died is merged again at most this long after its lease
    # (server/services/spaces/offline.yaml).
    (resume_offline_merges, MERGES_JOB_ID, timedelta(minutes=1)),
    # Figures lag a change made without a push at most this long (sync.figures).
    (follow_figures, FOLLOW_JOB_ID, timedelta(seconds=30)),
)
#: Periodic jobs queued at once when the worker starts and whenever Redis is back.
CATCH_UP = (outbox.SWEEP_JOB_ID, TICK_JOB_ID, LABEL_KEYS_JOB_ID)
#: How long RQ keeps the record of a failed periodic job (until the next run replaces it).
PERIODIC_FAILURE_TTL = 7 * 86400
#: A worker that quits sooner than this after starting is restarted only after a pause.
QUICK_EXIT_S = 5.0

#: Set by SIGTERM/SIGINT: the worker finishes its job (RQ's warm shutdown) and the process ends.
STOP = threading.Event()


def queue_periodic(queue: Queue, job: Callable, job_id: str, *, first: bool = False) -> bool:
    """Queue one run of a periodic job (`first`: at the front of the queue): none while a copy
    waits or runs; True when queued."""
    return enqueue_unique(
        queue, job, job_id=job_id, result_ttl=0, failure_ttl=PERIODIC_FAILURE_TTL, at_front=first
    )


def catch_up(queue: Queue) -> None:
    """Queue the CATCH_UP jobs ahead of everything else: what waited for Redis goes first."""
    for job, job_id, _every in reversed(PERIODIC):
        if job_id in CATCH_UP:
            queue_periodic(queue, job, job_id, first=True)


class OutageAwareWorker(Worker):
    """RQ's worker, reporting outages through `Outage` and stopping for good on a signal."""

    #: RQ backs off up to 60 s between tries to reach Redis while idle; work should not wait
    #: that long once Redis is back.
    max_connection_wait_time = BACKOFF_S[1]

    def __init__(self, *args, outage: Outage, **kwargs):
        super().__init__(*args, **kwargs)
        self.outage = outage

    def heartbeat(self, timeout=None, pipeline=None):
        super().heartbeat(timeout, pipeline)
        if pipeline is None and self.outage.since is not None:
            self._recover()
            self.outage.up()  # only once recovered: a failure above keeps it "down"

    def _recover(self) -> None:
        """RQ's idle loop waited for Redis by itself; Redis may have lost everything. Do what a
        fresh worker does: register, restart RQ's scheduler (it dies with Redis), catch up."""
        self.connection.hset(self.key, mapping=self.serialize())
        worker_registration.register(self)
        if self.scheduler is not None:
            self.scheduler.acquire_locks(auto_start=True)
        catch_up(self.queues[0])

    def request_stop(self, signum, frame):
        STOP.set()
        super().request_stop(signum, frame)


def _request_stop(signum, frame) -> None:
    STOP.set()


def _own_signals() -> None:
    """Between RQ workers (while waiting for Redis) a signal just ends the process."""
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)


def serve(settings: Settings) -> None:
    """Run RQ workers one after the other until STOP, waiting for Redis in between."""
    redis = redis_client(settings)
    wire(settings, redis)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    outage = Outage("worker")
    logging.getLogger("rq.worker").addFilter(outage.filter)
    pause = 0.0
    _own_signals()
    while not STOP.wait(pause) and wait_for_redis(redis, STOP, outage):
        started = time.monotonic()
        worker = OutageAwareWorker(
            [queue],
            connection=redis,
            serializer=JSONSerializer,
            # RQ restarts its scheduler (which dies with Redis) at maintenance time.
            maintenance_interval=60,
            outage=outage,
        )
        try:
            catch_up(queue)
            worker.work(with_scheduler=True)
        except RedisError as exc:
            outage.down(exc)
        finally:
            if worker.pubsub_thread is not None:  # left running when the teardown failed
                worker.pubsub_thread.stop()
        _own_signals()
        quick = time.monotonic() - started < QUICK_EXIT_S
        pause = min(max(pause * 2, 1.0), 30.0) if quick else 0.0
    log.info("worker stopped")


def main() -> None:
    settings = Settings.from_env()
    context.configure(settings)  # jobs read these, never the environment
    configure_logging(settings.log_level)
    connect_mongo(settings)
    log.info("worker starting", extra={"queue": settings.rq_queue})
    serve(settings)


if __name__ == "__main__":
    main()
