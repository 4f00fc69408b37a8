"""An order issued while Redis is down is accepted (202) and waits in the outbox; once Redis is
back the sweep queues it, and it is numbered and rendered exactly once."""

from __future__ import annotations

from rq import Queue

from server.jobs.outbox import sweep_outbox
from server.models.order import Order
from server.services import outbox
from server.services.hazards import orders
from server.wiring import wire
from tests.hazards.helpers import (
    GENERAL,
    failing_answers,
    make_issuing_world,
    submit_inspection,
)


def test_an_order_issued_without_redis_goes_out_when_redis_is_back(
    jobs, app_without_redis, auth_headers, published, job_settings, db, redis, settings
):
    # `jobs` first: the app without Redis must be the last to wire this process.
    client = app_without_redis.test_client()
    world = make_issuing_world(client, auth_headers)
    inspection = submit_inspection(world, failing_answers(GENERAL))
    body = {
        "inspection_id": inspection,
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"item_code": GENERAL, "term_days": 5, "measures": "组织培训"}],
    }
    issued = client.post("/api/v1/orders", json=body, headers=auth_headers(world["inspector"]))
    assert issued.status_code == 202, issued.get_json()
    order_id = issued.get_json()["id"]
    assert Queue(settings.rq_queue, connection=redis).count == 0
    assert db["outbox"].find_one({"job": orders.NUMBER_JOB})["state"] == "pending"

    wire(settings, redis, relay=True)  # Redis is back ...
    sweep_outbox()  # ... and the sweep queues what waited
    jobs()
    sweep_outbox()  # what the first jobs recorded (render, audit) is queued as they ran
    jobs()
    order = Order.objects.get(id=order_id)
    assert order.number == "（区）应急责改〔2026〕第1号" and order.pdf["sha256"]
    for job in (orders.NUMBER_JOB, orders.RENDER_JOB):
        [entry] = db["outbox"].find({"job": job})
        assert entry["state"] == "done" and len(outbox.runs_of(entry)) == 1
