"""Signing chain heads: the periodic job on a real worker signs every head that moved, checks
what it signs, and refuses a chain that was altered since its last signature."""

from __future__ import annotations

import pytest
from bson import ObjectId
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.jobs.audit import sign_audit_heads
from server.services.audit import canonical, chain, heads, signing
from tests.audit.helpers import make


@pytest.fixture
def key(settings):
    return signing.private_key(settings.audit_signing_key)


def signatures(db) -> list[tuple[str, int]]:
    return sorted((s["chain"], s["n"]) for s in db[chain.SIGNATURES].find())


def test_the_periodic_job_signs_every_head_that_moved(db, redis, settings, monkeypatch, key):
    for name in ("MONGODB_URI", "REDIS_URL", "SECRET_KEY", "AUDIT_SIGNING_KEY"):
        monkeypatch.setenv(name, getattr(settings, name.lower()))
    j = ObjectId()
    now = utcnow()
    chain.append(db, [make(j, obj=f"o{i}", now=now, key=f"j{i}") for i in range(3)])
    chain.append(db, [make(None, now=now, key="s1")])
    queue = Queue("audit-test", connection=redis, serializer=JSONSerializer)
    job = queue.enqueue(sign_audit_heads)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert signatures(db) == sorted([(str(j), 3), ("system", 1)])
    signed = db[chain.SIGNATURES].find_one({"_id": chain.event_id(str(j), 3)})
    assert signed["hash"] == db[chain.EVENTS].find_one({"_id": chain.event_id(str(j), 3)})["hash"]
    assert signing.verify_head(key.public_key(), signed)
    # Nothing moved: nothing to sign. Then one chain grows: only its new head is signed.
    assert heads.sign_heads(db, key, now=utcnow()) == {"signed": [], "broken": []}
    chain.append(db, [make(j, obj="o3", now=now, key="j3")])
    assert heads.sign_heads(db, key, now=utcnow())["signed"] == [{"chain": str(j), "n": 4}]
    assert signatures(db) == sorted([(str(j), 3), (str(j), 4), ("system", 1)])


def test_a_chain_altered_since_its_last_signature_is_not_signed(db, key):
    j = ObjectId()
    now = utcnow()
    chain.append(db, [make(j, obj=f"o{i}", now=now, key=f"j{i}") for i in range(2)])
    chain.append(db, [make(None, now=now, key="s1")])
    heads.sign_heads(db, key, now=now)
    chain.append(db, [make(j, obj=f"o{i}", now=now, key=f"j{i}") for i in range(2, 5)])
    chain.append(db, [make(None, now=now, key="s2")])
    # Someone with write access edits an unsigned event (without fixing its hash).
    db[chain.EVENTS].update_one(
        {"_id": chain.event_id(str(j), 4)}, {"$set": {"actor.user_id": "someone else"}}
    )
    result = heads.sign_heads(db, key, now=utcnow())
    assert result["signed"] == [{"chain": "system", "n": 2}]
    assert result["broken"] == [
        {"chain": str(j), "error": f"chain {j}: event 4 does not match its hash"}
    ]
    assert (str(j), 5) not in signatures(db)


def test_an_altered_signed_event_stops_further_signing(db, key):
    now = utcnow()
    chain.append(db, [make(None, obj=f"o{i}", now=now, key=f"s{i}") for i in range(2)])
    heads.sign_heads(db, key, now=now)
    db[chain.EVENTS].update_one({"_id": chain.event_id("system", 2)}, {"$set": {"action": "x.y"}})
    chain.append(db, [make(None, obj="o2", now=now, key="s2")])
    assert heads.sign_heads(db, key, now=now)["broken"] == [
        {"chain": "system", "error": "chain system: event 2 differs from its signature"}
    ]


def test_each_signed_head_is_logged_as_a_checkpoint_line(db, key, caplog):
    now = utcnow()
    chain.append(db, [make(None, now=now, key="s1")])
    with caplog.at_level("INFO", logger="server.services.audit.heads"):
        heads.sign_heads(db, key, now=now)
    [logged] = [r.signed_head for r in caplog.records if r.getMessage() == "audit head signed"]
    stored_head = db[chain.SIGNATURES].find_one({"_id": chain.event_id("system", 1)})
    assert logged == canonical.plain({k: v for k, v in stored_head.items() if k != "_id"})
    assert signing.verify_head(key.public_key(), logged)
