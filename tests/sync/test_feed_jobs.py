"""The feed's RQ jobs run on the real Redis with a burst worker (proves they serialize)."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.jobs.feed import sweep_feed
from sync import sequencer
from tests.factories import EnterpriseFactory
from tests.sync.helpers import make_world, phone_for


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


def test_a_push_records_its_sequencing_and_a_worker_does_it_without_a_pull(
    db, redis, settings, client, auth_headers, published
):
    _jurisdiction, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="phone-0001")
    phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1, answers={}
    )
    assert [r["status"] for r in phone.push()] == ["applied"]
    [entry] = db["outbox"].find({"job": "feed.sequence"})
    assert entry["state"] == "pending"  # confirmed by its witness on the pushed document
    before = sequencer.counter(db)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    assert db["outbox"].find_one({"_id": entry["_id"]})["state"] == "done"
    assert sequencer.counter(db) > before
    assert not sequencer.has_pending(db)
