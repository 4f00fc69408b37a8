"""The feed's RQ jobs run on the real Redis with a burst worker (proves they serialize)."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.jobs.feed import request_sequencing, sweep_feed
from sync import sequencer
from tests.factories import EnterpriseFactory


def test_pushes_request_sequencing_once_and_a_worker_does_it(db, redis, settings):
    EnterpriseFactory()
    request_sequencing(redis, settings.rq_queue)
    request_sequencing(redis, settings.rq_queue)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    assert queue.count == 1
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    assert not sequencer.has_pending(db)
    assert sequencer.counter(db) == 1


def test_sweep_job_sequences_a_change_whose_mark_was_lost(db, redis, settings):
    enterprise = EnterpriseFactory()
    sequencer.sequence_pending(db)
    db["enterprises"].update_one(
        {"_id": enterprise.id}, {"$set": {"sync_seq": None}, "$inc": {"sync_rev": 1}}
    )
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    queue.enqueue(sweep_feed)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    assert sequencer.counter(db) == 2


def test_a_redis_outage_does_not_fail_the_caller(db, caplog):
    from redis import Redis

    request_sequencing(Redis(port=1, socket_connect_timeout=0.2), "default")
    assert "could not queue feed sequencing" in caplog.text
