"""`python -m tests.jobs.fault_worker`: the service's worker (the same `wire`, the same loop)
with the jobs of the fault tests registered too. Used only by tests/jobs/test_redis_outage.py."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from mongoengine.connection import get_db

from server import sequence
from server.jobs import worker
from server.services import outbox

#: Effects of the test jobs, one document per call.
EFFECTS = "test_effects"
#: `{_id: "block", on: bool}`: while on, `take_number` blocks after taking its number.
CONTROL = "test_control"
#: Short, so that a test need not wait long for a killed runner's lease to expire.
LEASE = timedelta(seconds=2)


def take_number(entry_id: str) -> int:
    """Not idempotent by nature: takes the next number of counter `test` (keyed by the entry,
    as a notice number is), records the call, then blocks while the test says so."""
    db = get_db()
    n = sequence.take(db, "test", key=entry_id)
    db[EFFECTS].insert_one({"job": "take_number", "entry": entry_id, "n": n, "pid": os.getpid()})
    while (db[CONTROL].find_one({"_id": "block"}) or {}).get("on"):
        time.sleep(0.05)
    return n


def remind(notice: str, entry_id: str) -> None:
    """A timer's job: records each call."""
    get_db()[EFFECTS].insert_one({"job": "remind", "entry": entry_id, "notice": notice})


def register() -> None:
    outbox.register_job("test.take_number", take_number, lease=LEASE)
    outbox.register_job("test.remind", remind)


if __name__ == "__main__":
    register()
    worker.main()
