"""`python -m server.jobs.healthcheck [--scheduler]`: the worker's (and, with `--scheduler`, the
periodic-job scheduler's) container healthcheck (docker/compose.yaml).

Exits 0 when an RQ worker (a cron scheduler) on this host — the container's hostname, which RQ
records with each — heartbeated into Redis within `--max-age` seconds, else 1 with the reason
on stderr.
RQ's own heartbeats are the signal, so the worker needs no code of its own for it: an idle
worker beats each time its blocking wait for a job ends (every worker TTL less 15 s), a busy
one while it watches its job, and its Redis key expires a minute after a missed beat.
"""

from __future__ import annotations

import argparse
import socket
import sys
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker
from rq.cron import CronScheduler
from rq.defaults import DEFAULT_WORKER_TTL

from server.config import Settings
from server.db import redis_client

#: RQ's worker TTL plus the minute its key outlives a beat: a worker silent for longer is
#: hung or gone.
MAX_AGE = timedelta(seconds=DEFAULT_WORKER_TTL + 60)


def worker_alive(redis: Redis, *, hostname: str, now: datetime, max_age: timedelta):
    """The registered worker on `hostname` that heartbeated within `max_age` of `now`, or None."""
    for worker in Worker.all(connection=redis):
        beat = worker.last_heartbeat
        if worker.hostname == hostname and beat is not None and now - _aware(beat) <= max_age:
            return worker
    return None


def scheduler_alive(redis: Redis, *, hostname: str, now: datetime, max_age: timedelta):
    """The registered cron scheduler on `hostname` that heartbeated within `max_age`, or None."""
    for scheduler in CronScheduler.all(connection=redis):
        beat = scheduler.last_heartbeat
        if scheduler.hostname == hostname and beat is not None and now - _aware(beat) <= max_age:
            return scheduler
    return None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m server.jobs.healthcheck")
    parser.add_argument(
        "--max-age",
        type=int,
        default=int(MAX_AGE.total_seconds()),
        help="seconds since the last heartbeat still counted as alive (default: %(default)s)",
    )
    parser.add_argument(
        "--scheduler", action="store_true", help="check the periodic-job scheduler instead"
    )
    args = parser.parse_args(argv)
    hostname = socket.gethostname()
    what, alive = (
        ("cron scheduler", scheduler_alive) if args.scheduler else ("RQ worker", worker_alive)
    )
    try:
        found = alive(
            redis_client(Settings.from_env()),
            hostname=hostname,
            now=datetime.now(UTC),
            max_age=timedelta(seconds=args.max_age),
        )
    except RedisError as exc:
        print(f"unhealthy: Redis cannot be asked: {exc}", file=sys.stderr)
        return 1
    if found is None:
        print(
            f"unhealthy: no {what} on {hostname} heartbeated in the last {args.max_age} s",
            file=sys.stderr,
        )
        return 1
    print(f"healthy: {what} {found.name} on {hostname}, last heartbeat {found.last_heartbeat}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
