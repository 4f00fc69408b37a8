"""End to end: Redis is killed during 50 inspection submissions with failed items,
each with its order issued on site, and started again (empty); afterwards every order is
issued exactly once, and the numbers are consecutive. Real processes: a Redis of the test's
own, the service's worker and scheduler, against the suite's MongoDB."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest

from server.app import create_app
from server.models.order import OrderState
from server.sequence import CLAIMS
from server.services import outbox
from server.services.hazards import numbering, orders
from server.wiring import wire
from tests.hazards.helpers import GENERAL, failing_answers, make_issuing_world
from tests.processes import RedisServer, service_env, start, stop, wait_until

SUBMISSIONS = 50


@pytest.fixture
def private_redis(tmp_path, settings, redis):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
    wire(settings, redis, relay=True)  # the suite's wiring again


@pytest.fixture
def service(tmp_path, settings, private_redis):
    """The service's worker and scheduler against the private Redis."""
    procs = [
        start(m, service_env(settings, private_redis.url), tmp_path / f"{m}.log")
        for m in ("server.jobs.worker", "server.jobs.scheduler")
    ]
    yield procs
    for proc in procs:
        stop(proc)


def _submit_and_issue(world, client, auth_headers) -> str:
    phone = world["phone"]
    inspection_id = phone.create_inspection(
        enterprise_id=str(world["firm"].id),
        checklist_code="CS",
        checklist_version=2,
        answers=failing_answers(GENERAL),
    )
    phone.submit(inspection_id)
    assert [r["status"] for r in phone.push()] == ["applied", "applied"]
    body = {
        "inspection_id": inspection_id,
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"item_code": GENERAL, "term_days": 5, "measures": "组织监护人员培训"}],
    }
    issued = client.post("/api/v1/orders", json=body, headers=auth_headers(world["inspector"]))
    assert issued.status_code == 202, issued.get_json()
    return issued.get_json()["id"]


@pytest.mark.slow
def test_redis_killed_during_submissions_leaves_every_order_issued_once_and_numbered_in_a_row(
    db, settings, published, auth_headers, private_redis, service
):
    app = create_app(replace(settings, redis_url=private_redis.url))  # wires this process
    client = app.test_client()
    world = make_issuing_world(client, auth_headers)
    requested: list[str] = []
    failures: list[BaseException] = []

    def load():
        try:
            for _ in range(SUBMISSIONS):
                requested.append(_submit_and_issue(world, client, auth_headers))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failures.append(exc)

    loader = threading.Thread(target=load)
    loader.start()
    wait_until(lambda: len(requested) >= SUBMISSIONS // 4 or failures, 120, "the first orders")
    private_redis.kill()
    killed_at = len(requested)
    wait_until(lambda: len(requested) >= SUBMISSIONS // 2 or failures, 120, "orders without Redis")
    down = len(requested) - killed_at
    waiting = db["orders"].count_documents({"state": OrderState.REQUESTED})
    back = time.monotonic()
    private_redis.start()  # empty: whatever was queued is gone
    loader.join(180)
    assert not failures and not loader.is_alive() and len(requested) == SUBMISSIONS

    def issued():
        # The job issues the order, then its outbox entry is marked done: wait for both.
        done = db["outbox"].count_documents({"job": orders.NUMBER_JOB, "state": "done"})
        return (
            db["orders"].count_documents({"state": OrderState.ISSUED}) == SUBMISSIONS
            and done == SUBMISSIONS
        )

    wait_until(issued, 120, "every order issued")
    took = time.monotonic() - back

    found = list(db["orders"].find({}, {"seq": 1, "number": 1, "state": 1}))
    assert sorted(o["_id"] for o in found) == sorted(requested)
    assert sorted(o["seq"] for o in found) == list(range(1, SUBMISSIONS + 1))
    assert len({o["number"] for o in found}) == SUBMISSIONS
    series = numbering.counter(world["body"].id, 2026)
    claims = list(db[CLAIMS].find({"counter": {"$regex": "^orders:"}}, {"counter": 1, "n": 1}))
    assert {c["counter"] for c in claims} == {series}  # one series, no number taken twice
    assert sorted(c["n"] for c in claims) == list(range(1, SUBMISSIONS + 1))
    jobs = list(db["outbox"].find({"job": orders.NUMBER_JOB}))
    assert len(jobs) == SUBMISSIONS and {e["state"] for e in jobs} == {"done"}
    assert [[r["outcome"] for r in outbox.runs_of(e)] for e in jobs] == [["ok"]] * len(jobs)
    assert all(p.poll() is None for p in service)
    print(  # the figures of the report
        f"\norders: Redis killed after {killed_at} of {SUBMISSIONS} submissions, {down} made "
        f"while it was down ({waiting} orders waiting for their number at the restart); all "
        f"{SUBMISSIONS} issued {took:.1f}s after it was back"
    )
