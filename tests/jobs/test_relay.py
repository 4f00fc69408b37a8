"""The outbox relay (server.services.relay): a change's entries reach RQ without the request
waiting on Redis, and a forked process relays on a thread of its own."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import replace

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.db import redis_client
from server.jobs.outbox import RqDispatcher
from server.models.outbox_entry import OutboxEntry
from server.services import outbox
from server.services.relay import MAX_WAITING, Relay
from server.wiring import wire
from tests.processes import RedisServer


@pytest.fixture
def private_redis(tmp_path, settings, redis):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    if server.proc and server.proc.poll() is None:
        server.proc.send_signal(signal.SIGCONT)
    server.stop()
    wire(settings, redis, relay=True)  # the suite's wiring again


@pytest.mark.slow
def test_a_change_made_while_redis_hangs_does_not_wait_for_it(db, settings, private_redis):
    private = redis_client(replace(settings, redis_url=private_redis.url))
    outbox.configure_dispatch(RqDispatcher(private, settings.rq_queue), relay=True)
    outbox.register_job("test.relay", lambda: None)
    private_redis.proc.send_signal(signal.SIGSTOP)  # alive, listening, answering nothing
    recorded: list = []
    change = threading.Thread(
        target=lambda: recorded.extend(outbox.record([outbox.Job("test.relay")], now=utcnow()))
    )
    change.start()
    change.join(timeout=2)  # a Redis round trip would wait 5 s (its socket timeout)
    assert not change.is_alive() and len(recorded) == 1  # while Redis still answers nothing
    assert not outbox.registry.flush(timeout=0.5)  # the relay waits on Redis instead
    private_redis.proc.send_signal(signal.SIGCONT)
    assert outbox.registry.flush(timeout=20)
    queue = Queue(settings.rq_queue, connection=private, serializer=JSONSerializer)
    assert queue.job_ids == recorded


def test_a_forked_child_relays_on_a_thread_of_its_own(redis):
    relay = Relay(lambda ids: redis.rpush("relayed", *ids))
    relay(["parent"])
    assert relay.flush()
    child = os.fork()
    if child == 0:  # the parent's relay thread does not exist here
        try:
            relay(["child"])
            os._exit(0 if relay.flush(timeout=5) else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert redis.lrange("relayed", 0, -1) == [b"parent", b"child"]


def test_while_redis_hangs_the_relay_lets_its_oldest_ids_go_to_the_sweep():
    taken, hung, dispatched = threading.Event(), threading.Event(), []

    def dispatch(ids):
        taken.set()
        hung.wait(10)  # Redis answers nothing until the event is set
        dispatched.extend(ids)

    relay = Relay(dispatch)
    relay(["in flight"])
    assert taken.wait(5)
    later = [f"id-{n}" for n in range(MAX_WAITING + 5)]
    relay(later)
    hung.set()
    assert relay.flush()
    assert dispatched == ["in flight", *later[5:]]  # the five oldest are the sweep's


def test_an_entry_queued_fresh_and_by_the_sweep_runs_once(db, settings, redis, jobs):
    ran: list = []
    outbox.register_job("test.fresh", lambda: ran.append(1))
    (entry_id,) = outbox.record([outbox.Job("test.fresh")], now=utcnow())  # relayed: fresh
    assert outbox.registry.flush()
    dispatcher = RqDispatcher(redis, settings.rq_queue)
    assert dispatcher([entry_id], fresh=True) == 1  # one round trip, no uniqueness check
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    assert queue.job_ids.count(entry_id) == 2  # delivered twice
    jobs()
    assert ran == [1]
    entry = OutboxEntry._get_collection().find_one({"_id": entry_id})
    assert entry["state"] == "done" and len(outbox.runs_of(entry)) == 1
