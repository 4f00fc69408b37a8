"""Timers on the real servers: idempotent per key, moved or canceled until they fire, and each
due timer fired exactly once through the outbox, whatever ticks repeat, race or crash."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from mongoengine.connection import get_db
from rq import Queue
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.jobs.queueing import enqueue_unique
from server.jobs.timers import TICK_JOB_ID, tick_timers
from server.models.timer import CANCELED, FIRED, FIRING, SCHEDULED
from server.services import outbox, timers

EFFECTS = "test_timer_effects"


def remind(notice: str, entry_id: str) -> None:
    get_db()[EFFECTS].insert_one({"notice": notice, "entry": entry_id})


@pytest.fixture
def reminders(jobs):
    outbox.register_job("test.remind", remind)
    return jobs


def _job(notice: str = "n-1") -> outbox.Job:
    return outbox.Job("test.remind", {"notice": notice})


def test_schedule_is_idempotent_per_key_and_moves_an_unfired_timer(db, reminders):
    now = utcnow()
    due = now + timedelta(days=3)
    first = timers.schedule("notice:1:remind", due, _job(), now=now)
    again = timers.schedule("notice:1:remind", due, _job(), now=now + timedelta(seconds=5))
    assert again["rev"] == first["rev"] == 0  # the same call changes nothing
    moved = timers.schedule("notice:1:remind", due + timedelta(days=2), _job(), now=now)
    assert moved["due_at"] == due + timedelta(days=2) and moved["state"] == SCHEDULED
    assert db["timers"].count_documents({}) == 1
    assert timers.fire_due(now=due + timedelta(days=1)) == 0  # it moved past this tick
    assert timers.cancel("notice:1:remind", now=now)
    assert timers.fire_due(now=due + timedelta(days=5)) == 0  # canceled: never fires
    assert db["timers"].find_one()["state"] == CANCELED
    timers.schedule("notice:1:remind", due, _job(), now=now)  # armed again
    assert timers.fire_due(now=due) == 1
    # A key fires once: scheduling or canceling it again changes nothing.
    assert (
        timers.schedule("notice:1:remind", due + timedelta(days=9), _job(), now=now)["state"]
        == FIRED
    )
    assert not timers.cancel("notice:1:remind", now=now)
    assert timers.fire_due(now=due + timedelta(days=10)) == 0
    assert db["outbox"].count_documents({}) == 1


def test_only_registered_jobs_can_be_scheduled(db):
    with pytest.raises(ValueError, match="no job"):
        timers.schedule("k", utcnow(), outbox.Job("test.nobody"), now=utcnow())


def test_each_due_timer_fires_once_however_many_ticks_race(db, reminders):
    now = utcnow()
    for n in range(20):
        timers.schedule(f"notice:{n}:overdue", now - timedelta(seconds=n), _job(str(n)), now=now)
    timers.schedule("notice:later:overdue", now + timedelta(hours=1), _job("later"), now=now)
    fired, start = [], threading.Barrier(8)

    def tick():
        start.wait()
        fired.append(timers.fire_due(now=now))

    threads = [threading.Thread(target=tick) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(fired) == 20
    assert timers.fire_due(now=now) == 0  # and a repeated tick adds nothing
    assert db["outbox"].count_documents({}) == 20
    states = {t["_id"]: t["state"] for t in db["timers"].find()}
    assert states.pop("notice:later:overdue") == SCHEDULED
    assert set(states.values()) == {FIRED}
    reminders()
    assert sorted(e["notice"] for e in db[EFFECTS].find()) == sorted(str(n) for n in range(20))


def test_a_tick_that_died_midway_is_finished_by_the_next_without_a_second_entry(db, reminders):
    now = utcnow()
    for key in ("taken", "written"):
        timers.schedule(key, now, _job(key), now=now)
    # One tick died after taking "taken"; another after also writing the entry of "written".
    db["timers"].update_many({}, {"$set": {"state": FIRING}, "$inc": {"rev": 1}})
    assert outbox.record_once(_job("written"), timers.entry_id_of("written"), now=now)
    assert timers.fire_due(now=now) == 1  # only "taken" needed its entry
    assert {t["state"] for t in db["timers"].find()} == {FIRED}
    assert sorted(e["_id"] for e in db["outbox"].find()) == sorted(
        timers.entry_id_of(k) for k in ("taken", "written")
    )
    assert not timers.cancel("taken", now=now)


def test_the_tick_job_fires_due_timers_through_rq(db, redis, settings, reminders):
    now = utcnow()
    timers.schedule("notice:9:remind", now - timedelta(minutes=1), _job("9"), now=now)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    assert enqueue_unique(queue, tick_timers, job_id=TICK_JOB_ID, result_ttl=0)
    assert not enqueue_unique(queue, tick_timers, job_id=TICK_JOB_ID, result_ttl=0)  # one copy
    reminders()  # the tick, then the entry it dispatched
    [effect] = db[EFFECTS].find()
    assert effect == {
        "_id": effect["_id"],
        "notice": "9",
        "entry": timers.entry_id_of("notice:9:remind"),
    }
    assert db["outbox"].find_one()["state"] == "done"
