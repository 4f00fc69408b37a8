"""Fault tests with real processes: Redis killed under load, a worker killed mid-job, a timer
due while Redis was down. Each test runs its own redis-server (killing it leaves the suite's
alone), the service's worker (`python -m tests.jobs.fault_worker`: the real worker plus test
jobs) and scheduler (`python -m server.jobs.scheduler`) against the suite's MongoDB.

Every required job must have run exactly once, asserted on the outbox and on `job_runs`
before anything pulls (a pull sequences the feed on demand, so it would hide a lost job).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from checklists.versions import pinned_template
from media.links import ARRIVAL_JOB
from server import sequence
from server.app import create_app
from server.clock import utcnow
from server.db import redis_client
from server.jobs.outbox import RqDispatcher
from server.models.inspection import Inspection
from server.models.timer import FIRED, SCHEDULED
from server.services import outbox, timers
from server.wiring import wire
from tests.jobs import fault_worker
from tests.media import helpers as media
from tests.processes import (
    RedisServer,
    kill_group,
    service_env,
    start,
    stop,
    wait_until,
)
from tests.sync.helpers import FAIL, failing_yes_no_item, make_world, passing_answers, phone_for

PUSHES = 200
PHOTO_EVERY = 10  # one push in ten names a photo, uploaded over tus right after


@pytest.fixture
def private_redis(tmp_path, settings, redis):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
    wire(settings, redis, relay=True)  # the suite's wiring again


@pytest.fixture
def spawn(tmp_path, settings, private_redis):
    """`spawn(module)` starts a service process against the private Redis; all are stopped."""
    procs = []

    def run(module: str):
        log = tmp_path / f"{module.rsplit('.', 1)[-1]}.log"
        proc = start(module, service_env(settings, private_redis.url), log)
        proc.log = log
        procs.append(proc)
        return proc

    yield run
    for proc in procs:
        stop(proc)


def _running(redis, what: str) -> bool:
    """The RQ worker or the cron scheduler is registered in this (possibly new) Redis."""
    return bool(redis.exists("rq:workers" if what == "worker" else "rq:cron_schedulers"))


def _all_done(db) -> bool:
    return db["outbox"].count_documents({"state": {"$ne": "done"}}) == 0


@pytest.mark.slow
def test_redis_killed_under_pushes_and_uploads_loses_no_job_and_doubles_none(
    db, settings, published, auth_headers, private_redis, spawn
):
    app = create_app(replace(settings, redis_url=private_redis.url))  # wires this process
    client = app.test_client()
    probe = redis_client(replace(settings, redis_url=private_redis.url))
    worker = spawn("tests.jobs.fault_worker")
    scheduler = spawn("server.jobs.scheduler")
    wait_until(lambda: _running(probe, "worker") and _running(probe, "scheduler"), 20, "start")

    cs = pinned_template("CS", 1)
    item = failing_yes_no_item(cs, photo_required=True)
    _j, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="outage-phone")
    headers = {"Authorization": f"Bearer {phone.token}"}
    pushed, photographed, outage = [], [], {}

    def load():
        for n in range(PUSHES):
            answers = passing_answers(cs)
            photo = None
            if n % PHOTO_EVERY == 0:
                photo = media.jpeg(media.marked_image((64 + n, 48)))
                answers[item.code] = {"value": FAIL, "photos": [media.sha256(photo)]}
            inspection_id = phone.create_inspection(
                enterprise_id=str(enterprise.id),
                checklist_code="CS",
                checklist_version=1,
                answers=answers,
            )
            [receipt] = phone.push()
            assert receipt["status"] == "applied", receipt
            pushed.append(inspection_id)
            if photo is not None:
                meta = media.photo_metadata(
                    photo, link_id=inspection_id, kind="inspection", item_code=item.code
                )
                assert media.upload(client, headers, photo, meta=meta).status_code == 204
                photographed.append(inspection_id)

    loader = threading.Thread(target=load)
    loader.start()
    wait_until(lambda: len(pushed) >= PUSHES // 4, 60, "the first pushes")
    private_redis.kill()
    outage["killed_at_push"] = len(pushed)
    wait_until(lambda: len(pushed) >= PUSHES // 2, 60, "pushes while Redis is down")
    outage["down_pushes"] = len(pushed) - outage["killed_at_push"]
    backlog = [e["_id"] for e in db["outbox"].find({"state": {"$ne": "done"}}, {"_id": 1})]
    back, back_at = time.monotonic(), utcnow()
    private_redis.start()  # empty: every queued job is gone
    wait_until(
        lambda: (
            db["outbox"].count_documents({"_id": {"$in": backlog}, "state": "done"}) == len(backlog)
        ),
        60,
        "the jobs recorded while Redis was down",
    )
    backlog_s = time.monotonic() - back
    loader.join(120)
    assert not loader.is_alive() and len(pushed) == PUSHES
    wait_until(lambda: _all_done(db), 60, "every entry done")
    waited = time.monotonic() - back
    # RQ delivers at least once (e.g. a job that was running when its Redis died is retried by
    # RQ's abandoned-job handling): deliver every entry once more; each must still run once.
    dispatcher = RqDispatcher(probe, settings.rq_queue)
    every = [e["_id"] for e in db["outbox"].find({}, {"_id": 1})]
    assert dispatcher(every) == len(every)
    queue = Queue(settings.rq_queue, connection=probe, serializer=JSONSerializer)
    wait_until(lambda: queue.count == 0 and queue.started_job_registry.count == 0, 60, "redelivery")

    entries = list(db["outbox"].find())
    by_job: dict[str, int] = {}
    for entry in entries:
        by_job[entry["job"]] = by_job.get(entry["job"], 0) + 1
    audits = by_job.pop("audit.append")
    assert by_job == {"feed.sequence": PUSHES, ARRIVAL_JOB: len(photographed)}
    # One audit entry per push and per arrival (plus the checklists published beforehand),
    # and each event in its chain exactly once.
    assert audits >= PUSHES + len(photographed)
    actions: dict[str, int] = {}
    for event in db["audit_events"].find({}, {"action": 1}):
        actions[event["action"]] = actions.get(event["action"], 0) + 1
    assert actions.get("inspection.create") == PUSHES
    assert actions.get("photo.arrive") == len(photographed)
    assert {e["state"] for e in entries} == {"done"}
    runs = {e["_id"]: [r["outcome"] for r in outbox.runs_of(e)] for e in entries}
    assert {entry_id: r for entry_id, r in runs.items() if r != ["ok"]} == {}
    assert db["job_runs"].count_documents({}) == len(entries)
    # The effects, still before any pull: every photographed inspection is complete.
    complete = {i.id for i in Inspection.objects(photos_complete=True).only("id")}
    assert set(photographed) <= complete
    assert worker.poll() is None and scheduler.poll() is None
    wait_until(lambda: _running(probe, "worker") and _running(probe, "scheduler"), 10, "again")
    first = min(r["started_at"] for r in db["job_runs"].find({"entry_id": {"$in": backlog}}))
    print(  # the figures of the report
        f"\noutage: Redis killed after push {outage['killed_at_push']}, "
        f"{outage['down_pushes']} pushes while it was down; of the {len(backlog)} jobs waiting "
        f"then, the first ran {(first - back_at).total_seconds():.1f}s after the restart, the "
        f"last {backlog_s:.1f}s after; all {len(entries)} were done {waited:.1f}s after"
    )


@pytest.mark.slow
def test_a_worker_killed_mid_job_leads_to_a_retry_never_a_second_effect(
    db, settings, private_redis, spawn
):
    fault_worker.register()  # so this process may record the entry
    probe = redis_client(replace(settings, redis_url=private_redis.url))
    outbox.configure_dispatch(RqDispatcher(probe, settings.rq_queue))
    db[fault_worker.CONTROL].insert_one({"_id": "block", "on": True})
    first = spawn("tests.jobs.fault_worker")
    [entry_id] = outbox.record([outbox.Job("test.take_number")], now=utcnow())
    taken = wait_until(
        lambda: db[fault_worker.EFFECTS].find_one({"entry": entry_id}), 30, "the number taken"
    )
    assert db["outbox"].find_one({"_id": entry_id})["state"] == "running"
    # SIGKILL, mid-job: the work horse running it (RQ gives it a process group of its own)
    # and the worker with everything else it forked.
    os.kill(taken["pid"], signal.SIGKILL)
    kill_group(first)
    db[fault_worker.CONTROL].update_one({"_id": "block"}, {"$set": {"on": False}})
    entry = db["outbox"].find_one({"_id": entry_id})
    time.sleep(max(0.0, (entry["lease_until"] - utcnow()).total_seconds()) + 0.2)

    spawn("tests.jobs.fault_worker")  # its start-up sweep finds the dead runner's entry
    wait_until(lambda: db["outbox"].find_one({"_id": entry_id})["state"] == "done", 30, "the retry")
    entry = db["outbox"].find_one({"_id": entry_id})
    assert entry["attempts"] == 2
    assert [(r["attempt"], r.get("outcome")) for r in outbox.runs_of(entry)] == [
        (1, None),  # died mid-run
        (2, "ok"),
    ]
    calls = list(db[fault_worker.EFFECTS].find({"entry": entry_id}))
    assert [c["n"] for c in calls] == [taken["n"], taken["n"]] == [1, 1]  # one number only
    assert calls[0]["pid"] != calls[1]["pid"]
    assert sequence.value(db, "test") == 1
    assert db["counter_claims"].count_documents({"counter": "test"}) == 1
    assert entry["result"] == {"value": 1}


@pytest.mark.slow
def test_a_timer_due_while_redis_was_down_fires_once_when_it_is_back(
    db, settings, private_redis, spawn
):
    fault_worker.register()
    probe = redis_client(replace(settings, redis_url=private_redis.url))
    worker = spawn("tests.jobs.fault_worker")
    scheduler = spawn("server.jobs.scheduler")
    wait_until(lambda: _running(probe, "worker") and _running(probe, "scheduler"), 20, "start")
    now = utcnow()
    due = now + timedelta(seconds=1)
    timers.schedule("notice:42:remind", due, outbox.Job("test.remind", {"notice": "42"}), now=now)
    private_redis.kill()
    time.sleep(max(0.0, (due - utcnow()).total_seconds()) + 1.5)
    assert db["timers"].find_one()["state"] == SCHEDULED  # due, but no tick could run
    back = time.monotonic()
    private_redis.start()
    effect = wait_until(
        lambda: db[fault_worker.EFFECTS].find_one({"job": "remind"}), 30, "the reminder"
    )
    fired_after = time.monotonic() - back
    time.sleep(1.0)  # further ticks (the scheduler's, the worker's catch-up) fire nothing more
    assert db[fault_worker.EFFECTS].count_documents({"job": "remind"}) == 1
    assert effect["entry"] == timers.entry_id_of("notice:42:remind")
    timer = db["timers"].find_one()
    assert timer["state"] == FIRED and timer["entry_id"] == effect["entry"]
    # The timer's one entry (the worker's start may audit other things meanwhile).
    assert [e["state"] for e in db["outbox"].find({"job": "test.remind"})] == ["done"]
    assert worker.poll() is None and scheduler.poll() is None
    print(f"\ntimer: fired {fired_after:.1f}s after Redis was back")
