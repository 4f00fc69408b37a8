"""The outbox's core path on the real servers: staged entries confirmed by their witness or
discarded, dispatched to RQ, run once by a burst worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from mongoengine.connection import get_db

from server.clock import utcnow
from server.jobs.outbox import run_entry
from server.models.outbox_entry import DISCARDED, DONE, READY
from server.services import outbox

RUNS = "test_job_runs"


def record_run(note: str, entry_id: str) -> dict:
    get_db()[RUNS].insert_one({"note": note, "entry": entry_id})
    return {"note": note}


@pytest.fixture
def dispatched(jobs):
    outbox.register_job("test.record", record_run)
    return jobs


def test_a_witnessed_change_runs_its_job_once_and_an_unwitnessed_one_never(db, dispatched):
    now = utcnow()
    db["things"].insert_many([{"_id": "a"}, {"_id": "b"}])
    [happened] = outbox.stage(
        [outbox.Job("test.record", {"note": "a"})],
        witnesses=[outbox.Witness("things", "a", "outbox", "tok-a")],
        now=now,
    )
    [never] = outbox.stage(
        [outbox.Job("test.record", {"note": "b"})],
        witnesses=[outbox.Witness("things", "b", "outbox", "tok-b")],
        now=now,
    )
    db["things"].update_one({"_id": "a"}, {"$push": {"outbox": "tok-a"}})
    # The writer died before confirming. The sweep confirms the witnessed entry at once (its
    # change happened) and discards the other only after the grace period (it may be in flight).
    assert outbox.settle_pending(now=now) == {"confirmed": 1, "discarded": 0}
    later = now + outbox.GRACE + timedelta(seconds=1)
    assert outbox.settle_pending(now=later) == {"confirmed": 0, "discarded": 1}
    dispatched()
    entries = {e["_id"]: e for e in db["outbox"].find()}
    assert entries[happened]["state"] == DONE
    assert entries[happened]["result"] == {"note": "a"}
    assert entries[never]["state"] == DISCARDED
    assert [r["note"] for r in db[RUNS].find()] == ["a"]
    assert run_entry(happened) is None  # a second delivery does nothing
    assert db[RUNS].count_documents({}) == 1


def test_a_failing_job_is_retried_then_failed_for_good(db, redis, settings):
    def flaky(entry_id: str):
        raise RuntimeError("receiver down")

    outbox.register_job("test.flaky", flaky, max_attempts=2)
    [entry_id] = outbox.record([outbox.Job("test.flaky")], now=utcnow())
    with pytest.raises(RuntimeError):
        run_entry(entry_id)
    assert db["outbox"].find_one({"_id": entry_id})["state"] == READY
    assert run_entry(entry_id) == {"failed": True}
    entry = db["outbox"].find_one({"_id": entry_id})
    assert entry["state"] == "failed"
    assert "receiver down" in entry["last_error"]
    assert outbox.retry(entry_id, now=utcnow())
    assert db["outbox"].find_one({"_id": entry_id})["state"] == READY


def test_confirming_writes_nothing_and_a_worker_takes_a_witnessed_pending_entry(db, dispatched):
    now = utcnow()
    db["things"].insert_one({"_id": "c"})
    [entry_id] = outbox.stage(
        [outbox.Job("test.record", {"note": "c"})],
        witnesses=[outbox.Witness("things", "c", "outbox", "tok-c")],
        now=now,
    )
    outbox.confirm([entry_id], now=now)  # dispatched before its change: nothing to take yet
    dispatched()
    assert db["outbox"].find_one({"_id": entry_id})["state"] == "pending"
    assert db[RUNS].count_documents({}) == 0
    db["things"].update_one({"_id": "c"}, {"$push": {"outbox": "tok-c"}})
    rev = db["outbox"].find_one({"_id": entry_id})["rev"]
    outbox.confirm([entry_id], now=now)
    assert db["outbox"].find_one({"_id": entry_id})["rev"] == rev  # no write to confirm
    dispatched()
    assert db["outbox"].find_one({"_id": entry_id})["state"] == DONE
    assert [r["note"] for r in db[RUNS].find()] == ["c"]
