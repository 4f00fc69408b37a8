"""The change feed under concurrent writers: no change is ever skipped, even when writes
commit in a different order than they started, and a pull that starts after a write was
acknowledged sees it."""

from __future__ import annotations

import threading
import time

from mongoengine.connection import get_db

from checklists.versions import pinned_template
from server.actor import Role
from server.clock import utcnow
from server.models.synced import changed_fields, mark_dirty
from sync import feed
from sync.handler import PushContext
from sync.push import push
from tests.factories import regulator
from tests.sync.helpers import make_world, passing_answers

WRITERS = 4
EDITS = 40


def _mutation(n, op, inspection_id, **fields):
    mutation = {
        "mutation_id": f"00000000-0000-4000-8000-{n:012d}",
        "collection": "inspections",
        "op": op,
        "id": inspection_id,
        "data": fields.pop("data", {}),
    }
    mutation.update(fields)
    return mutation


def test_pulls_interleaved_with_out_of_order_writers_miss_nothing(auth_headers, published, db):
    cs = pinned_template("CS", 1)
    jurisdiction, enterprise, inspectors = make_world(inspectors=WRITERS)
    supervisor = regulator(Role.SUPERVISOR, jurisdiction).actor()
    database = get_db()
    acks: list[tuple[float, str, int]] = []  # (acknowledged at, inspection, version)
    lock = threading.Lock()
    done = threading.Event()

    def writer(w: int) -> None:
        actor = inspectors[w].actor(device_id=f"writer-{w}")
        inspection_id = f"00000000-0000-4000-9000-{w:012d}"
        for n in range(EDITS + 1):
            ctx = PushContext(database, actor, f"writer-{w}", utcnow())
            if n == 0:
                m = _mutation(
                    w * 1000,
                    "create",
                    inspection_id,
                    data={
                        "enterprise_id": str(enterprise.id),
                        "checklist_code": "CS",
                        "checklist_version": 1,
                        "answers": passing_answers(cs, 2),
                    },
                )
            else:
                m = _mutation(
                    w * 1000 + n,
                    "update",
                    inspection_id,
                    base_version=n,
                    data={"note": f"w{w} edit {n}"},
                )
            if n and w % 2 and n % 3 == 0:
                version = _slow_raw_edit(database, inspection_id, n)
            else:
                (receipt,) = push(ctx, [m])
                assert receipt["status"] == "applied", receipt
                version = receipt["version"]
            with lock:
                acks.append((time.monotonic(), inspection_id, version))

    snapshots: list[tuple[float, dict]] = []
    local: dict[str, int] = {}

    def reader() -> None:
        cursor = None
        while True:
            finished = done.is_set()
            started = time.monotonic()
            while True:
                page = feed.pull(database, supervisor, cursor=cursor, limit=7)
                for change in page.decoded():
                    if change["collection"] == "inspections":
                        local[change["id"]] = change["data"]["version"]
                cursor = page.cursor
                if not page.has_more:
                    break
            snapshots.append((started, dict(local)))
            if finished:
                return

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    pulling = threading.Thread(target=reader)
    pulling.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    pulling.join()

    server = {d["_id"]: d["version"] for d in db["inspections"].find()}
    assert len(server) == WRITERS
    assert local == server
    assert all(v == EDITS + 1 for v in server.values())
    # Every acknowledged write is visible to every pull that started after the ack.
    for acked_at, inspection_id, version in acks:
        later = [snap for started, snap in snapshots if started > acked_at]
        assert later, "the reader must pull at least once after the last write"
        assert all(snap.get(inspection_id, 0) >= version for snap in later), (
            inspection_id,
            version,
        )


def _slow_raw_edit(database, inspection_id: str, n: int) -> int:
    """A write by the raw protocol of server.models.synced whose dirty mark comes late: the
    change is committed, other writers' later changes are marked and sequenced first."""
    changed = changed_fields()
    database["inspections"].update_one(
        {"_id": inspection_id, "version": n},
        {
            "$set": {**changed["$set"], "note": f"slow edit {n}"},
            "$inc": {**changed["$inc"], "version": 1},
        },
    )
    time.sleep(0.005)
    mark_dirty("inspections")
    return n + 1
