"""`python -m server.jobs.scheduler`: queues the periodic jobs of `server.jobs.worker.PERIODIC`
with RQ's own cron scheduler (`rq.cron.CronScheduler` of rq 2.12), and outlives Redis.

RQ's facility keeps the schedule (interval jobs, next run times), registers the scheduler and
its jobs in Redis where RQ's tools show them, and heartbeats. Two things are ours, because
rq.cron's `CronJob.enqueue` queues with the pickle serializer (our workers read JSON only) and
a fresh job id per run (several schedulers would queue several copies): `PeriodicJob.enqueue`
queues under the periodic job's fixed id, JSON-serialized, one copy at a time
(`server.jobs.worker.queue_periodic`); and the loop (`CronScheduler.start` exits on the first
Redis error) waits for Redis and carries on. Several schedulers may run (one per worker host):
a job already waiting or running is not queued again.
"""

from __future__ import annotations

import logging
import signal
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, cron_job_registry
from rq.cron import CronJob, CronScheduler
from rq.serializers import JSONSerializer

from server.config import Settings
from server.db import redis_client
from server.jobs.outage import Outage, wait_for_redis
from server.jobs.worker import PERIODIC, queue_periodic
from server.logs import configure_logging

log = logging.getLogger(__name__)

#: Longest sleep between two looks at the schedule, in seconds: how soon a lost Redis is
#: noticed and the scheduler's registration renewed (RQ's own cap is 60 s).
POLL_S = 5.0

STOP = threading.Event()


class PeriodicJob(CronJob):
    """A cron job queued the service's way: JSON, under its fixed id (its `name`), one copy."""

    def enqueue(self, connection: Redis) -> None:
        queue = Queue(self.queue_name, connection=connection, serializer=JSONSerializer)
        if queue_periodic(queue, self.func, self.name):
            cron_job_registry.add(self.name, connection)
            log.debug("periodic job queued", extra={"job": self.name})


class PeriodicScheduler(CronScheduler):
    """RQ's cron scheduler over PERIODIC, run by `run` instead of `start`."""

    def __init__(self, connection: Redis, queue_name: str):
        super().__init__(connection=connection)
        for func, job_id, every in PERIODIC:
            job = PeriodicJob(
                queue_name=queue_name,
                func=func,
                interval=int(every.total_seconds()),
                name=job_id,
                result_ttl=0,
            )
            self.get_jobs().append(job)

    def run(self, stop: threading.Event, outage: Outage) -> None:
        """Queue what is due until `stop`, waiting for Redis whenever it is away."""
        born = False
        while wait_for_redis(self.connection, stop, outage):
            try:
                if not born:
                    self.register_birth()
                    born = True
                while not stop.is_set():
                    if self.enqueue_jobs():
                        self.save()
                    self.heartbeat()  # also registers again after Redis lost the registry
                    outage.up()
                    stop.wait(min(self.calculate_sleep_interval(), POLL_S))
            except RedisError as exc:
                outage.down(exc)
        try:
            self.register_death()
        except Exception:  # noqa: BLE001 - Redis is down or lost us: nothing to unregister
            pass


def _request_stop(signum, frame) -> None:
    STOP.set()


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    scheduler = PeriodicScheduler(redis_client(settings), settings.rq_queue)
    log.info(
        "scheduler starting",
        extra={"queue": settings.rq_queue, "jobs": [job.name for job in scheduler.get_jobs()]},
    )
    scheduler.run(STOP, Outage("scheduler"))
    log.info("scheduler stopped")


if __name__ == "__main__":
    main()
