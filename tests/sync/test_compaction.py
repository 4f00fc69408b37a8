"""Compaction of the change feed and of push receipts: pulls end the same across the holes,
tombstones survive the entries that carried them, and nothing is lost to concurrent writers."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import orjson
import pytest
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from checklists.versions import pinned_template
from server import json_encoding, sequence
from server.actor import Role
from server.clock import utcnow
from server.jobs.feed import compact_feed
from server.models.enterprise import Enterprise
from server.models.inspection import Inspection
from sync import compaction, feed
from sync.collections import BY_NAME, REGISTRY
from sync.handler import PushContext
from sync.push import RECEIPTS, push
from sync.sequencer import LOG, counter, sequence_pending
from tests.factories import EnterpriseFactory, JurisdictionFactory, UserFactory, regulator
from tests.sync.helpers import LogReads, make_world, passing_answers, phone_for, watched


def _compact(db, **kw):
    """One run with no margin, so the entries just written are eligible."""
    return compaction.compact_feed(db, now=utcnow(), margin=timedelta(0), **kw)


def _pull_all(db, actor, after: int = 0, limit: int = 3):
    """Every change after log number `after`, page by page (small pages by default, so that
    page boundaries fall between a document's entries), as a phone receives them."""
    changes, cursor = [], feed.encode_cursor(after) if after else None
    while True:
        page = feed.pull(db, actor, cursor=cursor, limit=limit)
        changes += page.decoded()
        cursor = page.cursor
        if not page.has_more:
            return changes, feed.decode_cursor(cursor)


def _ends_with(db, actor, after: int = 0, limit: int = 3) -> dict:
    """What a phone's copy ends with after applying the changes after `after`: the data of
    each upserted document, None for each tombstone."""
    net = {}
    for change in _pull_all(db, actor, after, limit)[0]:
        net[(change["collection"], change["id"])] = change.get("data")
    return net


def _ops(db, actor, after: int) -> list[tuple[str, str]]:
    return [(c["id"], c["op"]) for c in _pull_all(db, actor, after)[0]]


def _scope(db, kind: str, doc_id) -> dict:
    """The audience the document has now, as the sequencer computes it (opaque here)."""
    return BY_NAME[kind].scope(db[kind].find_one({"_id": doc_id}))


def _inspection(jurisdiction, inspector=None) -> Inspection:
    inspector = inspector or regulator(Role.INSPECTOR, jurisdiction)
    return Inspection(
        id=str(uuid.uuid4()),
        checklist_code="CS",
        checklist_version=1,
        enterprise_id=EnterpriseFactory(jurisdiction_id=jurisdiction.id).id,
        jurisdiction_id=jurisdiction.id,
        inspector_id=inspector.id,
        device_id="d" * 8,
    ).save()


def _entries_of(db, collection: str, doc_id) -> list[int]:
    return sorted(e["_id"] for e in db[LOG].find({"c": collection, "d": doc_id}))


def test_only_the_latest_entry_per_document_survives_and_every_cursor_ends_the_same(db):
    here, elsewhere = JurisdictionFactory(), JurisdictionFactory()
    readers = [
        regulator(Role.SUPERVISOR, here).actor(),
        regulator(Role.SUPERVISOR, elsewhere).actor(),
        UserFactory(role=Role.ADMIN.value).actor(),
    ]
    busy, quiet = (EnterpriseFactory(jurisdiction_id=here.id) for _ in range(2))
    doomed = _inspection(here)
    sequence_pending(db)
    for n in range(12):
        Enterprise.objects(id=busy.id).update(set__name=f"企业改名 {n}")
        if n % 4 == 0:
            Enterprise.objects(id=quiet.id).update(set__address=f"地址 {n}")
            Inspection.objects(id=doomed.id).update(set__note=f"备注 {n}")
        sequence_pending(db)
    Inspection.objects(id=doomed.id).update(set__deleted_at=utcnow())
    sequence_pending(db)
    high = counter(db)
    before = {(i, c): _ends_with(db, r, c) for i, r in enumerate(readers) for c in range(high + 1)}

    run = _compact(db)

    documents = [
        (c.collection, d["_id"], d["sync_seq"]) for c in REGISTRY for d in db[c.collection].find()
    ]
    assert sorted(e["_id"] for e in db[LOG].find()) == sorted(seq for _c, _d, seq in documents)
    assert _entries_of(db, "enterprises", busy.id) == [busy.reload().sync_seq]
    assert run.removed == high - len(documents)
    assert db[LOG].find_one({"_id": doomed.reload().sync_seq})["x"] is True  # the tombstone stays
    after = {(i, c): _ends_with(db, r, c) for i, r in enumerate(readers) for c in range(high + 1)}
    assert after == before
    assert before[(0, 0)][("inspections", doomed.id)] is None
    assert before[(1, 0)] == {}


MODELS = {"enterprises": Enterprise, "inspections": Inspection}


def _synced_doc(kind: str, jurisdiction):
    if kind == "enterprises":
        return EnterpriseFactory(jurisdiction_id=jurisdiction.id).id
    return _inspection(jurisdiction).id


def _edit(kind: str, doc_id, n: int) -> None:
    if kind == "enterprises":
        Enterprise.objects(id=doc_id).update(set__name=f"改名 {n}")
    else:
        Inspection.objects(id=doc_id).update(set__note=f"备注 {n}")


@pytest.mark.parametrize("kind", ["enterprises", "inspections"])
def test_a_move_superseded_by_later_updates_still_tombstones_every_old_jurisdiction(db, kind):
    a, b, c, none = (JurisdictionFactory() for _ in range(4))
    reader = {
        name: regulator(Role.SUPERVISOR, j).actor()
        for name, j in zip("ABCN", (a, b, c, none), strict=True)
    }
    model, raw_id = MODELS[kind], _synced_doc(kind, a)
    doc_id, in_a = str(raw_id), _scope(db, kind, raw_id)
    sequence_pending(db)
    start = counter(db)  # every reader has pulled up to here: A holds the document
    assert (doc_id, "upsert") in _ops(db, reader["A"], 0)

    model.objects(id=raw_id).update(set__jurisdiction_id=b.id)
    sequence_pending(db)
    in_b = _scope(db, kind, raw_id)
    assert db[LOG].find_one({"_id": counter(db)})["ps"] == [in_a]
    _edit(kind, raw_id, 1)  # supersedes the entry that carried A
    sequence_pending(db)
    assert _compact(db).removed == 2
    assert _entries_of(db, kind, raw_id) == [counter(db)]

    assert _ops(db, reader["A"], start) == [(doc_id, "delete")]
    assert _ops(db, reader["B"], start) == [(doc_id, "upsert")]
    assert _ops(db, reader["N"], start) == []
    assert _ops(db, reader["C"], start) == []
    b_cursor = counter(db)  # B holds it now

    model.objects(id=raw_id).update(set__jurisdiction_id=c.id)
    sequence_pending(db)
    _edit(kind, raw_id, 2)
    sequence_pending(db)
    _compact(db)
    assert _entries_of(db, kind, raw_id) == [counter(db)]

    assert _ops(db, reader["A"], start) == [(doc_id, "delete")]
    assert _ops(db, reader["B"], start) == [(doc_id, "delete")]
    assert _ops(db, reader["B"], b_cursor) == [(doc_id, "delete")]
    assert _ops(db, reader["C"], start) == [(doc_id, "upsert")]
    assert _ops(db, reader["N"], start) == []
    survivor = db[LOG].find_one({"_id": counter(db)})
    assert survivor["s"] == _scope(db, kind, raw_id)
    assert len(survivor["ps"]) == 2 and in_a in survivor["ps"] and in_b in survivor["ps"]


def test_a_crash_between_carry_forward_and_deletion_leaves_only_an_extra_entry(db):
    a, b = JurisdictionFactory(), JurisdictionFactory()
    old_reader = regulator(Role.SUPERVISOR, a).actor()
    enterprise = EnterpriseFactory(jurisdiction_id=a.id)
    sequence_pending(db)
    start, in_a = counter(db), _scope(db, "enterprises", enterprise.id)
    Enterprise.objects(id=enterprise.id).update(set__jurisdiction_id=b.id)
    sequence_pending(db)
    Enterprise.objects(id=enterprise.id).update(set__name="改名")
    sequence_pending(db)
    plan = compaction._plan(db, list(db[LOG].find().batch_size(100)))
    compaction._carry_forward(db, plan)  # ... and the compactor dies here
    assert db[LOG].count_documents({}) == 3
    assert _ops(db, old_reader, start) == [(str(enterprise.id), "delete")]

    assert _compact(db).removed == 2
    (survivor,) = db[LOG].find()
    assert survivor["ps"] == [in_a]  # carried once, not twice
    assert _ops(db, old_reader, start) == [(str(enterprise.id), "delete")]


def test_a_new_devices_first_pull_reads_only_the_surviving_entries(db, settings):
    jurisdiction = JurisdictionFactory()
    supervisor = regulator(Role.SUPERVISOR, jurisdiction).actor()
    enterprises = [EnterpriseFactory(jurisdiction_id=jurisdiction.id) for _ in range(20)]
    for n in range(9):
        for e in enterprises:
            Enterprise.objects(id=e.id).update(set__name=f"{e.name} {n}")
        sequence_pending(db)
    logged = db[LOG].count_documents({})
    listener = LogReads()
    with watched(settings, listener) as mine:
        before = _ends_with(mine, supervisor, limit=feed.DEFAULT_LIMIT)
        read_before = listener.entries
        _compact(db)
        after = _ends_with(mine, supervisor, limit=feed.DEFAULT_LIMIT)
        read_after = listener.entries - read_before
    assert after == before and len(before) == 20
    assert (read_before, read_after) == (logged, 20)
    assert logged == 20 * 9  # the first round sequenced each creation with its first edit


def test_a_pull_steps_over_long_runs_of_compacted_numbers(db):
    """Holes cost no entry, so a pull walks past more numbers than it may examine entries."""
    enterprise = EnterpriseFactory()
    sequence_pending(db)
    far = feed.MAX_SCAN * 2
    entry = db[LOG].find_one({"_id": 1})
    db[LOG].delete_one({"_id": 1})
    db[LOG].insert_one({**entry, "_id": far})  # as if 1 … far-1 had been compacted away
    sequence._advance(db, LOG, far)
    page = feed.pull(db, UserFactory(role=Role.ADMIN.value).actor(), cursor=None)
    assert [c["id"] for c in page.changes] == [str(enterprise.id)]
    assert (feed.decode_cursor(page.cursor), page.has_more) == (far, False)


@pytest.fixture
def world(client, auth_headers, published):
    jurisdiction, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="phone-0001")
    return {"enterprise": enterprise, "phone": phone}


def test_receipts_past_the_horizon_go_and_a_replay_is_still_recognised(world, client, db):
    phone = world["phone"]
    inspection_id = phone.create_inspection(
        enterprise_id=str(world["enterprise"].id),
        checklist_code="CS",
        checklist_version=1,
        answers={},
    )
    create = list(phone.outbox)
    assert [r["status"] for r in phone.push()] == ["applied"]
    phone.edit(inspection_id, note="第二次")
    edit = list(phone.outbox)
    assert [r["status"] for r in phone.push()] == ["applied"]
    # An applied create keeps no receipt (its document answers a replay); the edit's is stored.
    assert [r["_id"] for r in db[RECEIPTS].find()] == [edit[0]["mutation_id"]]
    month_ago = utcnow() - timedelta(days=31)
    db[RECEIPTS].update_one({"_id": edit[0]["mutation_id"]}, {"$set": {"at": month_ago}})

    removed = compaction.prune_receipts(db, now=utcnow(), horizon=timedelta(days=30))

    assert removed == 1
    assert list(db[RECEIPTS].find()) == []
    headers = {"Authorization": f"Bearer {phone.token}"}
    body = {"device_id": phone.device_id, "mutations": create + edit}
    receipts = client.post("/api/v1/sync/push", json=body, headers=headers).get_json()["receipts"]
    assert [(r["status"], r.get("first_status")) for r in receipts] == [
        ("duplicate", "applied"),  # the inspection exists, carrying the create's mutation id
        ("applied", None),  # its receipt is gone; the inspection remembers the mutation id
    ]
    assert [r["version"] for r in receipts] == [1, 2]
    assert Inspection.objects.count() == 1
    assert Inspection.objects.get(id=inspection_id).version == 2


def test_receipt_pruning_pages_through_a_large_backlog(db):
    now = utcnow()
    old = [{"_id": f"old-{n}", "at": now - timedelta(days=40)} for n in range(5100)]
    new = [{"_id": f"new-{n}", "at": now - timedelta(days=1)} for n in range(10)]
    db[RECEIPTS].insert_many(old + new)
    assert compaction.prune_receipts(db, now=now, horizon=timedelta(days=30), limit=5050) == 5050
    assert compaction.prune_receipts(db, now=now, horizon=timedelta(days=30)) == 50
    assert sorted(r["_id"] for r in db[RECEIPTS].find().batch_size(100)) == sorted(
        r["_id"] for r in new
    )


def test_runs_are_bounded_resume_at_the_watermark_and_cycle(db):
    enterprises = [EnterpriseFactory() for _ in range(10)]
    sequence_pending(db)
    for n in range(2):
        for e in enterprises:
            Enterprise.objects(id=e.id).update(set__name=f"{e.name} {n}")
        sequence_pending(db)
    runs = [_compact(db, max_entries=7) for _ in range(5)]
    assert [(r.examined, r.watermark) for r in runs] == [(7, 7), (7, 14), (7, 21), (7, 28), (2, 0)]
    assert sum(r.removed for r in runs) == 20
    # The latest entries when this cycle passed them are superseded now: the next cycle takes them.
    for e in enterprises:
        Enterprise.objects(id=e.id).update(set__name="又改名")
    sequence_pending(db)
    assert _compact(db).removed == 10
    assert db[LOG].count_documents({}) == 10


def test_the_newest_entries_and_numbers_above_the_counter_are_left_alone(db):
    enterprise = EnterpriseFactory()
    sequence_pending(db)
    for n in range(3):
        Enterprise.objects(id=enterprise.id).update(set__name=f"改名 {n}")
        sequence_pending(db)
    db[LOG].update_many({"_id": {"$in": [1, 2]}}, {"$set": {"at": utcnow() - timedelta(hours=1)}})
    # A sequencer wrote entry 5 and died before moving the counter: not ours to judge.
    db[LOG].insert_one({"_id": 5, "c": "enterprises", "d": enterprise.id, "s": {}, "at": None})
    run = compaction.compact_feed(db, now=utcnow())  # the default margin
    assert (run.examined, run.removed, run.watermark) == (2, 2, 0)
    assert sorted(e["_id"] for e in db[LOG].find()) == [3, 4, 5]


def test_only_one_compactor_runs_at_a_time(db):
    lease = sequence.Lease.acquire(db, compaction.NAME, compaction.LEASE_TTL)
    try:
        assert _compact(db).busy
    finally:
        lease.release()
    assert not _compact(db).busy


WRITERS = 3
EDITS = 25
#: Edits a writer makes at most while it waits for the compactor to remove something.
MORE_EDITS = 400


def _mutation(w: int, n: int, op: str, inspection_id: str, **fields) -> dict:
    return {
        "mutation_id": f"00000000-0000-4000-8000-{w * 1000 + n:012d}",
        "collection": "inspections",
        "op": op,
        "id": inspection_id,
        "data": fields.pop("data", {}),
        **fields,
    }


def _truth(db, actor) -> dict:
    """What the actor's phone must end with: every visible, undeleted document as sent."""
    out = {}
    for synced in REGISTRY:
        for raw in db[synced.collection].find().batch_size(500):
            if raw.get("deleted_at") is None and synced.visible(actor, synced.scope(raw)):
                out[(synced.name, str(raw["_id"]))] = orjson.loads(
                    json_encoding.dumps(synced.to_phone(raw, actor))
                )
    return out


def test_compaction_alongside_pushes_sequencing_and_pulls_loses_no_change(db, published):
    template = pinned_template("CS", 1)
    jurisdiction, enterprise, inspectors = make_world(inspectors=WRITERS)
    actors = [p.actor(device_id=f"writer-{w}") for w, p in enumerate(inspectors)]
    readers = [*actors, regulator(Role.SUPERVISOR, jurisdiction).actor()]
    writing = threading.Event()
    writing.set()
    failures: list[BaseException] = []
    removed: list[int] = []
    phones: list[dict] = [{} for _ in readers]

    def guarded(fn):
        def run(*args):
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - reported by the test thread
                failures.append(exc)

        return run

    def writing_on(w: int, n: int) -> bool:
        # On a loaded machine one compaction cycle can span all the fixed edits; the writers
        # but the first (whose last mutation is its deletion) then go on until the compactor
        # has removed entries while they write: the race this test is about.
        if n < EDITS + 2:
            return True
        return w != 0 and not any(removed) and n < MORE_EDITS

    @guarded
    def writer(w: int) -> None:
        inspection_id = f"00000000-0000-4000-9000-{w:012d}"
        n = 0
        while writing_on(w, n):
            ctx = PushContext(db, actors[w], f"writer-{w}", utcnow())
            if n == 0:
                data = {
                    "enterprise_id": str(enterprise.id),
                    "checklist_code": "CS",
                    "checklist_version": 1,
                    "answers": passing_answers(template, 2),
                }
                m = _mutation(w, n, "create", inspection_id, data=data)
            elif n == EDITS + 1 and w == 0:
                m = _mutation(w, n, "delete", inspection_id, base_version=n)
            else:
                m = _mutation(w, n, "update", inspection_id, base_version=n, data={"note": f"{n}"})
            (receipt,) = push(ctx, [m])
            assert receipt["status"] == "applied", receipt
            n += 1

    @guarded
    def compactor() -> None:
        while writing.is_set():
            removed.append(_compact(db, max_entries=40).removed)

    @guarded
    def sequencing() -> None:
        while writing.is_set():
            sequence_pending(db)
            time.sleep(0.003)

    @guarded
    def reader(i: int) -> None:
        cursor = None
        while True:
            finished = not writing.is_set()
            while True:
                page = feed.pull(db, readers[i], cursor=cursor, limit=4)
                for change in page.decoded():
                    phones[i][(change["collection"], change["id"])] = change.get("data")
                cursor = page.cursor
                if not page.has_more:
                    break
            if finished:
                return

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    others = [threading.Thread(target=compactor), threading.Thread(target=sequencing)]
    others += [threading.Thread(target=reader, args=(i,)) for i in range(len(readers))]
    for t in writers + others:
        t.start()
    for t in writers:
        t.join()
    writing.clear()
    for t in others:
        t.join()
    assert failures == []
    _compact(db)  # finishes the cycle the compactor thread was in
    _compact(db)  # and one whole cycle

    assert sum(removed) > 0, "the compactor must have removed entries while writers wrote"
    gone = ("inspections", f"00000000-0000-4000-9000-{0:012d}")
    assert phones[0][gone] is None and phones[-1][gone] is None  # the deletion arrived
    for i, actor in enumerate(readers):
        truth = _truth(db, actor)
        kept = {k: v for k, v in phones[i].items() if v is not None}
        assert kept == truth, actor.role
        assert {k: v for k, v in _ends_with(db, actor).items() if v is not None} == truth
    assert db[LOG].count_documents({}) == sum(
        db[c.collection].count_documents({}) for c in REGISTRY
    )


def test_the_compaction_job_runs_on_a_real_worker(db, redis, settings, job_settings):
    enterprise = EnterpriseFactory()
    sequence_pending(db)
    for n in range(3):
        Enterprise.objects(id=enterprise.id).update(set__name=f"改名 {n}")
        sequence_pending(db)
    hour_ago = utcnow() - timedelta(hours=1)
    db[LOG].update_many({}, {"$set": {"at": hour_ago}})  # older than the job's margin
    db[RECEIPTS].insert_many(
        [{"_id": "old", "at": utcnow() - timedelta(days=31)}, {"_id": "new", "at": hour_ago}]
    )
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    job = queue.enqueue(compact_feed)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value() == {"examined": 4, "removed": 3, "receipts": 1}
    assert [e["_id"] for e in db[LOG].find()] == [enterprise.reload().sync_seq]
    assert [r["_id"] for r in db[RECEIPTS].find()] == ["new"]
