"""The outbox sweep and the dispatcher on the real Redis: what Redis lost is queued again, a
stale RQ record never blocks an entry, a dead runner's entry runs again after its lease, pending
entries are settled, finished ones pruned; every call of a job is recorded."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from mongoengine.connection import get_db
from rq import Queue
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.jobs.outbox import RETENTION, SWEEP_JOB_ID, run_entry, sweep_outbox
from server.jobs.queueing import enqueue_unique, state
from server.models.outbox_entry import DONE, READY, RUNNING
from server.services import outbox

RUNS = "test_job_runs"


def record_run(note: str, entry_id: str) -> dict:
    get_db()[RUNS].insert_one({"note": note, "entry": entry_id})
    return {"note": note}


@pytest.fixture
def recorded(jobs):
    outbox.register_job("test.record", record_run)
    return jobs


def _queue(redis, settings) -> Queue:
    return Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)


def _effects(db) -> dict:
    counts: dict = {}
    for run in db[RUNS].find():
        counts[run["entry"]] = counts.get(run["entry"], 0) + 1
    return counts


def test_the_sweep_queues_again_what_a_flushed_redis_lost(db, redis, settings, recorded):
    ids = outbox.record(
        [outbox.Job("test.record", {"note": str(n)}) for n in range(3)], now=utcnow()
    )
    assert outbox.registry.flush()  # the relay has passed them on
    assert _queue(redis, settings).count == 3
    redis.flushdb()  # Redis restarted without its data
    assert not recorded()  # nothing left to run
    assert {e["state"] for e in db["outbox"].find()} == {READY}
    # The periodic sweep, queued the scheduler's way, puts them back; the same burst runs them.
    assert enqueue_unique(_queue(redis, settings), sweep_outbox, job_id=SWEEP_JOB_ID)
    recorded()
    assert {e["_id"]: e["state"] for e in db["outbox"].find()} == {i: DONE for i in ids}
    assert _effects(db) == {i: 1 for i in ids}
    assert all(len(outbox.runs_of(e)) == 1 for e in db["outbox"].find())


def test_what_the_sweep_queues_again_goes_ahead_of_the_queue_oldest_first(
    db, redis, settings, recorded
):
    now = utcnow()
    lost = [
        outbox.record(
            [outbox.Job("test.record", {"note": str(n)})], now=now + timedelta(seconds=n)
        )[0]
        for n in (2, 0, 1)
    ]
    assert outbox.registry.flush()
    redis.flushdb()
    [later] = outbox.record([outbox.Job("test.record", {"note": "later"})], now=utcnow())
    assert outbox.registry.flush()
    assert sweep_outbox()["queued"] == 3  # the later one is on the queue already
    assert _queue(redis, settings).job_ids == [lost[1], lost[2], lost[0], later]


def test_a_finished_rq_record_never_blocks_an_entry_and_a_queued_one_is_not_doubled(
    db, redis, settings, recorded
):
    now = utcnow()
    db["things"].insert_one({"_id": "t"})
    [entry_id] = outbox.stage(
        [outbox.Job("test.record", {"note": "x"})],
        witnesses=[outbox.Witness("things", "t", "outbox", "tok")],
        now=now,
    )
    # RQ finished a copy while the entry was still pending (its claim declined it) ...
    _queue(redis, settings).enqueue(run_entry, entry_id, job_id=entry_id, result_ttl=600)
    recorded()
    assert state(redis, entry_id) == "finished"
    # ... so `unique=True` alone would refuse the confirmed entry: the record is replaced.
    db["things"].update_one({"_id": "t"}, {"$push": {"outbox": "tok"}})
    outbox.confirm([entry_id], now=now)
    assert outbox.registry.flush()
    assert state(redis, entry_id) == "queued"
    outbox.registry.dispatch([entry_id])  # a second dispatch, e.g. by the sweep
    assert _queue(redis, settings).count == 1
    recorded()
    assert db["outbox"].find_one({"_id": entry_id})["state"] == DONE
    assert _effects(db) == {entry_id: 1}


def test_an_entry_whose_runner_died_runs_again_after_its_lease(db, redis, settings, recorded):
    outbox.register_job("test.record", record_run, lease=timedelta(seconds=3))
    [entry_id] = outbox.record([outbox.Job("test.record", {"note": "y"})], now=utcnow())
    claimed, _job = outbox.claim(entry_id, now=utcnow())  # a runner took it, then died
    recorded()  # RQ's copy finds it held and finishes without running it
    assert db["outbox"].find_one({"_id": entry_id})["state"] == RUNNING
    assert sweep_outbox()["stranded"] == 0  # the lease still holds
    time.sleep(max(0.0, (claimed["lease_until"] - utcnow()).total_seconds()) + 0.1)
    swept = sweep_outbox()
    assert (swept["stranded"], swept["queued"]) == (1, 1)
    recorded()
    entry = db["outbox"].find_one({"_id": entry_id})
    assert (entry["state"], entry["attempts"]) == (DONE, 2)
    assert _effects(db) == {entry_id: 1}
    assert [r["attempt"] for r in outbox.runs_of(entry)] == [2]  # the dead one never called it


def test_pending_entries_are_settled_by_the_sweep(db, redis, settings, recorded):
    now = utcnow()
    db["things"].insert_many([{"_id": "a"}, {"_id": "b"}])
    [happened, never] = [
        outbox.stage(
            [outbox.Job("test.record", {"note": doc})],
            witnesses=[outbox.Witness("things", doc, "outbox", f"tok-{doc}")],
            now=now,
        )[0]
        for doc in ("a", "b")
    ]
    db["things"].update_one({"_id": "a"}, {"$push": {"outbox": "tok-a"}})
    # The request died before confirming; the sweep settles after the grace period.
    swept = sweep_outbox(now=now + outbox.GRACE + timedelta(seconds=1))
    assert (swept["confirmed"], swept["discarded"]) == (1, 1)
    recorded()
    assert db["outbox"].find_one({"_id": happened})["state"] == DONE
    assert db["outbox"].find_one({"_id": never})["state"] == "discarded"
    assert _effects(db) == {happened: 1}


def test_a_late_confirm_never_revives_a_settled_entry(db, redis, settings, recorded):
    now = utcnow()
    db["things"].insert_one({"_id": "slow", "outbox": ["tok"]})
    [entry_id] = outbox.stage(
        [outbox.Job("test.record", {"note": "slow"})],
        witnesses=[outbox.Witness("things", "slow", "outbox", "tok")],
        now=now,
    )
    outbox.settle_pending(now=now + outbox.GRACE + timedelta(seconds=1))
    recorded()
    # The slow request finally confirms (a dispatch, no write) or discards: nothing changes,
    # nothing runs again.
    outbox.confirm([entry_id], now=utcnow())
    assert outbox.discard([entry_id], now=utcnow()) == []
    recorded()
    assert db["outbox"].find_one({"_id": entry_id})["state"] == DONE
    assert _effects(db) == {entry_id: 1}


def test_a_runner_that_outlived_its_lease_does_not_overwrite_its_successor(db, recorded):
    outbox.register_job("test.record", record_run, lease=timedelta(seconds=1))
    [entry_id] = outbox.record([outbox.Job("test.record", {"note": "z"})], now=utcnow())
    now = utcnow()
    first, _ = outbox.claim(entry_id, now=now)
    second, _ = outbox.claim(entry_id, now=now + timedelta(seconds=2))  # lease expired
    assert not outbox.finish(entry_id, now=now, rev=first["rev"])
    assert db["outbox"].find_one({"_id": entry_id})["state"] == RUNNING
    assert outbox.finish(entry_id, now=now, rev=second["rev"])


def test_each_call_of_a_job_is_recorded_with_its_outcome(db, recorded):
    calls = []

    def flaky(entry_id: str):
        calls.append(entry_id)
        if len(calls) == 1:
            raise RuntimeError("receiver down")
        return {"ok": True}

    outbox.register_job("test.flaky", flaky)
    [entry_id] = outbox.record([outbox.Job("test.flaky")], now=utcnow())
    with pytest.raises(RuntimeError):
        run_entry(entry_id)
    assert run_entry(entry_id) == {"done": True}
    runs = outbox.runs_of(db["outbox"].find_one({"_id": entry_id}))
    assert [(r["attempt"], r["outcome"]) for r in runs] == [(1, "error"), (2, "ok")]
    assert "receiver down" in runs[0]["error"]
    assert all(r["finished_at"] >= r["started_at"] for r in runs)


def test_old_finished_entries_and_their_runs_are_pruned_and_failed_ones_kept(db, recorded):
    now = utcnow()
    ids = outbox.record([outbox.Job("test.record", {"note": str(n)}) for n in range(3)], now=now)
    for entry_id in ids:
        run_entry(entry_id)
    old, recent, failed = ids
    db["outbox"].update_one({"_id": failed}, {"$set": {"state": "failed"}})
    later = utcnow() + RETENTION + timedelta(minutes=1)
    db["outbox"].update_one({"_id": recent}, {"$set": {"finished_at": later}})
    assert outbox.prune(now=later, keep=RETENTION) == 1
    assert sorted(e["_id"] for e in db["outbox"].find()) == sorted([recent, failed])
    assert db["job_runs"].count_documents({"entry_id": old}) == 0
    assert db["job_runs"].count_documents({}) == 2
