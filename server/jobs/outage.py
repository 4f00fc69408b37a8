"""Redis outages as the long-running processes (worker, scheduler) live through them: wait with
back-off, and say so once when Redis goes away and once when it is back — not once per try.

Nothing is lost meanwhile: what must run is in the outbox and the timers (MongoDB); when Redis
is back the worker queues the outbox sweep and the timer tick at once (server.jobs.worker).
"""

from __future__ import annotations

import logging
import threading
import time

from redis import Redis

from server.db import redis_up

log = logging.getLogger(__name__)

#: Back-off between tries while Redis is down, in seconds: doubling from the first to the
#: second value. The cap bounds how long work waits after Redis is back.
BACKOFF_S = (0.25, 2.0)


class Outage:
    """Whether this process sees Redis down, and since when; logs each change once."""

    def __init__(self, role: str):
        self.role = role
        self.since: float | None = None

    def down(self, error: object = None) -> None:
        if self.since is None:
            self.since = time.monotonic()
            log.warning(
                "redis is down; waiting for it",
                extra={"role": self.role, "error": str(error)[:300] if error else None},
            )

    def up(self) -> bool:
        """Redis answered; True when that ends an outage."""
        if self.since is None:
            return False
        waited = time.monotonic() - self.since
        self.since = None
        log.warning("redis is back", extra={"role": self.role, "down_s": round(waited, 1)})
        return True

    def filter(self, record: logging.LogRecord) -> bool:
        """A logging filter for RQ's worker, which logs every failed try to reach Redis: the
        first one marks the outage (logged by `down`), the rest are dropped."""
        if "could not connect to Redis" in record.getMessage():
            self.down(record.args[1] if isinstance(record.args, tuple) and record.args else None)
            return False
        return True


def wait_for_redis(redis: Redis, stop: threading.Event, outage: Outage) -> bool:
    """Block until Redis answers (True) or `stop` is set (False), backing off between tries."""
    delay, longest = BACKOFF_S
    while not stop.is_set():
        if redis_up(redis):
            outage.up()
            return True
        outage.down()
        stop.wait(delay)
        delay = min(delay * 2, longest)
    return False
