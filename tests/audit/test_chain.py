"""Appending to the hash chains on the real servers: consecutive, linked and idempotent under
concurrent appenders and retried jobs; staged events appended only when witnessed."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from bson import ObjectId

from server.clock import utcnow
from server.jobs.outbox import run_entry
from server.models.audit_event import AuditEvent
from server.services import outbox
from server.services.audit import canonical, chain, record
from tests.audit.helpers import make, stored

#: Batches each of the 8 appenders writes (3 events in one chain, 1 in another per batch).
ROUNDS = 5


def assert_intact(events: list[dict], count: int) -> None:
    assert [e["n"] for e in events] == list(range(1, count + 1))
    prev = None
    for e in events:
        assert e["prev"] == prev
        assert e["hash"] == canonical.event_hash(e)
        assert e["_id"] == chain.event_id(e["chain"], e["n"])
        prev = e["hash"]


def test_concurrent_appenders_on_one_chain_take_consecutive_linked_numbers(db):
    here, there = ObjectId(), ObjectId()
    now = utcnow()
    start = threading.Barrier(8)
    errors = []

    def appender(t: int) -> None:
        try:
            start.wait()
            for i in range(ROUNDS):
                batch = [
                    make(here, obj=f"{t}-{i}-{k}", now=now, key=f"{t}:{i}:{k}") for k in range(3)
                ]
                batch.append(make(there, obj=f"{t}-{i}", now=now, key=f"x{t}:{i}"))
                chain.append(db, batch)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=appender, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert chain.chains(db) == sorted([str(here), str(there)])
    assert_intact(stored(db, str(here)), 8 * ROUNDS * 3)
    assert_intact(stored(db, str(there)), 8 * ROUNDS)
    assert chain.head(db, str(here)) == 8 * ROUNDS * 3
    # Each appender's batch kept its order and stayed in one piece.
    mine = [
        e["object"]["id"] for e in stored(db, str(here)) if e["object"]["id"].startswith("3-4-")
    ]
    assert mine == ["3-4-0", "3-4-1", "3-4-2"]


def test_a_retried_append_job_does_not_duplicate_events(db, jobs):
    now = utcnow()
    [entry] = record.record_events([make(None, obj=f"o{i}", now=now) for i in range(3)], now=now)
    jobs()
    assert db["outbox"].find_one({"_id": entry})["result"] == {"appended": 3, "dropped": 0}
    # The job ran but the worker died before marking it done: it runs again in full.
    db["outbox"].update_one({"_id": entry}, {"$set": {"state": "ready"}})
    assert run_entry(entry) == {"done": True}
    assert db["outbox"].find_one({"_id": entry})["result"] == {"appended": 0, "dropped": 0}
    events = stored(db, "system")
    assert [e["key"] for e in events] == [f"{entry}:{i}" for i in range(3)]
    assert_intact(events, 3)


def test_an_event_with_a_key_already_stored_is_not_appended_again(db):
    now = utcnow()
    once = make(None, action="thing.create", now=now, key="thing.create:t-1")
    chain.append(db, [once])
    chain.append(
        db, [dict(once, at=now + timedelta(seconds=5)), make(None, obj="t-2", now=now, key="k2")]
    )
    assert [e["key"] for e in stored(db, "system")] == ["thing.create:t-1", "k2"]


def test_staged_events_are_appended_only_when_their_witness_is_on_the_document(db, jobs):
    now = utcnow()
    j = ObjectId()
    db["things"].insert_many([{"_id": "a", "log": []}, {"_id": "b", "log": []}])
    events = [
        make(
            j,
            action="thing.update",
            obj="a",
            now=now,
            witness=outbox.Witness("things", "a", "log", "m1@2"),
        ),
        make(
            j,
            action="thing.update",
            obj="b",
            now=now,
            witness={"c": "things", "d": "b", "f": "log", "t": "m2@2"},
        ),
        make(j, action="thing.note", obj="c", now=now),  # no witness of its own: rides on the entry
    ]
    ids = record.stage_events(events, now=now)
    entry = db["outbox"].find_one({"_id": ids[0]})
    assert entry["state"] == "pending" and len(entry["witnesses"]) == 2
    # The push applied the first mutation only (the second lost its compare-and-set).
    db["things"].update_one({"_id": "a"}, {"$push": {"log": "m1@2"}})
    record.confirm_events(ids, now=now)
    jobs()
    assert [(e["object"]["id"], e["action"]) for e in stored(db, str(j))] == [
        ("a", "thing.update"),
        ("c", "thing.note"),
    ]
    assert db["outbox"].find_one({"_id": ids[0]})["result"] == {"appended": 2, "dropped": 1}


def test_staged_events_of_a_crashed_request_are_settled_by_their_witnesses(db, jobs):
    now = utcnow()
    db["things"].insert_many([{"_id": "a", "log": []}, {"_id": "b", "log": []}])
    applied = record.stage_events(
        [make(None, obj="a", now=now, witness=outbox.Witness("things", "a", "log", "t1"))], now=now
    )
    never = record.stage_events(
        [make(None, obj="b", now=now, witness=outbox.Witness("things", "b", "log", "t2"))], now=now
    )
    db["things"].update_one({"_id": "a"}, {"$push": {"log": "t1"}})
    # The request died before confirming: the outbox sweep decides by the witnesses.
    assert outbox.settle_pending(now=now + outbox.GRACE + timedelta(seconds=1)) == {
        "confirmed": 1,
        "discarded": 1,
    }
    jobs()
    assert [e["object"]["id"] for e in stored(db, "system")] == ["a"]
    assert db["outbox"].find_one({"_id": never[0]})["state"] == "discarded"
    assert db["outbox"].find_one({"_id": applied[0]})["state"] == "done"


def test_events_are_never_changed_or_removed_through_the_model(db):
    now = utcnow()
    chain.append(db, [make(None, now=now, key="k")])
    stored_event = AuditEvent.objects.get(id=chain.event_id("system", 1))
    for attempt in (
        lambda: AuditEvent.objects(id=stored_event.id).update(set__action="x.y"),
        lambda: AuditEvent.objects(id=stored_event.id).delete(),
        lambda: stored_event.save(),
        lambda: stored_event.delete(),
    ):
        with pytest.raises(TypeError, match="append-only|written by"):
            attempt()
    assert db["audit_events"].count_documents({}) == 1


def test_appending_after_a_missing_event_refuses(db):
    now = utcnow()
    chain.append(db, [make(None, obj=f"o{i}", now=now, key=f"k{i}") for i in range(3)])
    db["audit_events"].delete_one({"_id": chain.event_id("system", 3)})  # someone with DB access
    with pytest.raises(chain.ChainBroken, match="event 3"):
        chain.append(db, [make(None, obj="o4", now=now, key="k4")])
