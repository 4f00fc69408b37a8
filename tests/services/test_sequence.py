"""Gapless counters, numbered logs and leases (server.sequence) on the real MongoDB-wire server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from server import sequence
from server.clock import utcnow


def test_numbers_are_consecutive_and_a_key_keeps_its_number(db):
    assert [sequence.take(db, "notices:A:2026", key=k) for k in "abc"] == [1, 2, 3]
    assert sequence.take(db, "notices:A:2026", key="b") == 2
    assert sequence.take(db, "notices:B:2026", key="a") == 1  # counters are independent
    assert sequence.value(db, "notices:A:2026") == 3


def test_twenty_concurrent_takers_some_retried_get_one_gapless_series(db):
    name = "notices:X:2026"
    start = threading.Barrier(20)

    def taker(i: int) -> list[int]:
        start.wait()
        got = [sequence.take(db, name, key=f"job-{i}")]
        if i % 3 == 0:  # a retried job asks again with its key, twice
            got += [sequence.take(db, name, key=f"job-{i}") for _ in range(2)]
        return got

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(taker, range(20)))
    assert all(len(set(r)) == 1 for r in results)  # a retry never gets a second number
    numbers = sorted(r[0] for r in results)
    assert numbers == list(range(1, 21))
    claims = sorted(d["n"] for d in db[sequence.CLAIMS].find({"counter": name}))
    assert claims == list(range(1, 21))


def test_one_key_taken_twice_at_once_never_moves_the_head_past_its_claims(db):
    # A job run twice at once (its lease expired while it still ran): the loser's attempt on
    # the next number fails on the key, not the number, and must not count that number.
    name = "notices:Z:2026"
    for round_ in range(30):
        start = threading.Barrier(4)

        def taker(_i: int, key=f"job-{round_}", start=start) -> int:
            start.wait()
            return sequence.take(db, name, key=key)

        with ThreadPoolExecutor(4) as pool:
            assert len(set(pool.map(taker, range(4)))) == 1
        assert sequence.value(db, name) == db[sequence.CLAIMS].count_documents({"counter": name})


def test_a_taker_that_died_before_moving_the_head_leaves_no_gap(db):
    name = "notices:Y:2026"
    assert sequence.take(db, name, key="a") == 1
    # Died right after claiming 2: the claim exists, the head still says 1.
    db[sequence.CLAIMS].insert_one(
        {"_id": f"{name}:2", "counter": name, "n": 2, "key": "dead", "at": utcnow()}
    )
    assert sequence.value(db, name) == 1
    assert sequence.take(db, name, key="b") == 3
    assert sequence.take(db, name, key="dead") == 2  # its retry finds what it took


def test_log_append_links_to_the_previous_entry_and_adopts_a_dead_writers_entries(db):
    def build(first, previous):
        return [
            {"_id": f"c:{first + i}", "prev": previous["_id"] if previous and i == 0 else None}
            for i in range(2)
        ]

    assert sequence.append(db, "demo_log", build, id_of=lambda n: f"c:{n}") == 1
    # A writer died after inserting entry 3, before moving the head.
    db["demo_log"].insert_one({"_id": "c:3"})
    first = sequence.append(db, "demo_log", build, id_of=lambda n: f"c:{n}", with_previous=True)
    assert first == 4
    assert db["demo_log"].find_one({"_id": "c:4"})["prev"] == "c:3"
    assert sequence.value(db, "demo_log") == 5


def test_concurrent_appenders_never_share_a_number(db):
    def writer(w: int) -> None:
        for k in range(10):
            sequence.append(
                db, "demo_log", lambda first, _p, w=w, k=k: [{"_id": first, "w": w, "k": k}]
            )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(writer, range(8)))
    ids = sorted(d["_id"] for d in db["demo_log"].find())
    assert ids == list(range(1, 81))
    assert len({(d["w"], d["k"]) for d in db["demo_log"].find()}) == 80


def test_a_lease_has_one_holder_until_it_expires(db):
    now = utcnow()
    ttl = timedelta(seconds=30)
    first = sequence.Lease.acquire(db, "job", ttl, now=now)
    assert first is not None
    assert sequence.Lease.acquire(db, "job", ttl, now=now + timedelta(seconds=5)) is None
    assert first.renew(now=now + timedelta(seconds=20))
    assert sequence.Lease.acquire(db, "job", ttl, now=now + timedelta(seconds=40)) is None
    later = sequence.Lease.acquire(db, "job", ttl, now=now + timedelta(seconds=51))
    assert later is not None
    assert not first.renew(now=now + timedelta(seconds=52))  # it passed on
    first.release()  # releasing a lost lease leaves the new holder's alone
    assert sequence.Lease.acquire(db, "job", ttl, now=now + timedelta(seconds=53)) is None
    later.release()
    with sequence.held(db, "job", ttl) as lease:
        assert lease is not None
