"""Queueing on RQ with one copy per job id: what the outbox dispatcher, its sweep and the
periodic scheduler share.

RQ (≥ 2.8) refuses a `unique=True` job id that still exists in Redis in any state, including a
finished or failed record it keeps for its TTL. `enqueue_unique` therefore replaces a record
that is over (finished, failed, stopped, canceled) and leaves a live one (queued, scheduled,
deferred, started) alone: at most one copy of a job id waits or runs at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection

from redis import Redis
from redis.exceptions import WatchError
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus

log = logging.getLogger(__name__)

#: States of an RQ job record that will not run again by itself.
OVER = frozenset({JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED})
#: Attempts to queue against records that change under our feet before giving up (the caller,
#: e.g. the sweep, tries again later).
ATTEMPTS = 3


def state(redis: Redis, job_id: str) -> str | None:
    """The status of RQ's record of `job_id`, None when Redis holds none."""
    raw = redis.hget(Job.key_for(job_id), "status")
    return raw.decode() if raw is not None else None


def enqueue_unique(
    queue: Queue,
    func: Callable,
    *args,
    job_id: str,
    replace: Collection[str] = OVER,
    **options,
) -> bool:
    """Queue `func(*args)` as `job_id` unless RQ holds a record of it in a state outside
    `replace`; a record in `replace` is deleted first. True when this call queued it."""
    for _ in range(ATTEMPTS):
        try:
            queue.enqueue(func, *args, job_id=job_id, unique=True, **options)
            return True
        except DuplicateJobError:
            if not _drop(queue, job_id, replace):
                return False
    log.info("job record kept changing; not queued this time", extra={"job_id": job_id})
    return False


def _drop(queue: Queue, job_id: str, states: Collection[str]) -> bool:
    """Delete RQ's record of `job_id` if it is in `states` (or broken: no status), checked and
    deleted under WATCH so that a copy queued meanwhile survives. True: try queueing again."""
    redis = queue.connection
    key = Job.key_for(job_id)
    with redis.pipeline() as pipe:
        try:
            pipe.watch(key)
            raw = pipe.hget(key, "status")
            if raw is not None and raw.decode() not in states:
                return False
            try:
                job = Job.fetch(job_id, connection=redis, serializer=queue.serializer)
            except Exception:  # noqa: BLE001 - a broken record: delete the bare key
                job = None
            pipe.multi()
            if job is None:
                pipe.delete(key)
            else:
                job.delete(pipeline=pipe)
            pipe.execute()
        except WatchError:
            pass  # changed meanwhile: look again
    return True
