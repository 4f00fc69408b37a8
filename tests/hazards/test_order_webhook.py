"""Orders reach the enterprise's webhook, signed per Standard Webhooks: when issued and when
served, through the outbox, retried with RQ's back-off until the configured attempts are spent,
every attempt visible to the enterprise's manager."""

from __future__ import annotations

import ipaddress
import json
from datetime import UTC, datetime

import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer

from server.jobs.outbox import RETRY_INTERVALS
from server.services.webhooks import delivery, destination, signature
from tests.hazards import webhook_receiver
from tests.hazards.helpers import GENERAL, failing_answers, make_issuing_world, submit_inspection


@pytest.fixture
def world(client, auth_headers, published, job_settings):
    found = make_issuing_world(client, auth_headers)
    found["inspection"] = submit_inspection(found, failing_answers(GENERAL))
    return found


@pytest.fixture
def receiver(request):
    """`receiver(statuses)` → a live receiver answering those statuses in turn."""
    servers = []

    def start(statuses):
        found, server = webhook_receiver.serve(statuses)
        servers.append(server)
        return found

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _hook(client, auth_headers, world, url) -> str:
    answer = client.put(
        f"/api/v1/enterprises/{world['firm'].id}/webhook",
        json={"url": url},
        headers=auth_headers(world["manager"]),
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["secret"]


def _issue(client, auth_headers, world) -> str:
    body = {
        "inspection_id": world["inspection"],
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"item_code": GENERAL, "term_days": 5, "measures": "组织培训"}],
    }
    issued = client.post("/api/v1/orders", json=body, headers=auth_headers(world["inspector"]))
    assert issued.status_code == 202, issued.get_json()
    return issued.get_json()["id"]


def _deliveries(client, auth_headers, world) -> list[dict]:
    listed = client.get(
        f"/api/v1/enterprises/{world['firm'].id}/webhook/deliveries",
        headers=auth_headers(world["manager"]),
    )
    assert listed.status_code == 200, listed.get_json()
    return listed.get_json()


def _retry_due(settings, redis) -> list[float]:
    """Run RQ's scheduler step as if the back-off had passed: queue every scheduled retry now;
    returns how many seconds after its failed attempt each was scheduled (not after now: the
    burst worker may have run other jobs since)."""
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    registry = queue.scheduled_job_registry
    ahead = []
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
        ahead.append((registry.get_scheduled_time(job_id) - job.ended_at).total_seconds())
        registry.remove(job)
        queue.enqueue_job(job)
    return ahead


def test_an_issued_and_served_order_reach_the_webhook_signed(
    world, client, auth_headers, jobs, receiver
):
    hook = receiver([200])
    secret = _hook(client, auth_headers, world, hook.url)
    assert secret.startswith("whsec_")
    shown = client.get(
        f"/api/v1/enterprises/{world['firm'].id}/webhook", headers=auth_headers(world["manager"])
    ).get_json()
    assert shown["url"] == hook.url and "secret" not in shown
    order_id = _issue(client, auth_headers, world)
    jobs()
    served = client.post(
        f"/api/v1/orders/{order_id}/service",
        json={"kind": "acknowledged"},
        headers=auth_headers(world["manager"]),
    )
    assert served.status_code == 200, served.get_json()
    jobs()

    assert len(hook.received) == 2
    now = int(datetime.now(UTC).timestamp())
    messages = []
    for got in hook.received:
        assert signature.verify(secret, got.headers, got.body, now=now)
        assert not signature.verify(signature.new_secret(), got.headers, got.body, now=now)
        messages.append(json.loads(got.body))
    assert [m["type"] for m in messages] == ["order.issued", "order.served"]
    issued = messages[0]["data"]
    assert issued["number"] == "（区）应急责改〔2026〕第1号"
    assert issued["items"][0]["item_code"] == GENERAL and issued["items"][0]["description"]
    assert messages[1]["data"]["service"]["kind"] == "acknowledged"
    ids = [got.headers["webhook-id"] for got in hook.received]
    assert ids == [delivery.delivery_id(e, order_id) for e in ("order.issued", "order.served")]
    listed = _deliveries(client, auth_headers, world)
    assert [(d["event"], d["state"]) for d in listed] == [
        ("order.served", "delivered"),
        ("order.issued", "delivered"),
    ]
    assert [a["status"] for d in listed for a in d["attempts"]] == [200, 200]


def test_a_receiver_failing_twice_gets_the_order_on_the_third_attempt(
    world, client, auth_headers, jobs, receiver, settings, redis
):
    hook = receiver([500, 503, 204])
    secret = _hook(client, auth_headers, world, hook.url)
    _issue(client, auth_headers, world)
    jobs()
    waits = []
    for _ in range(2):
        waits += _retry_due(settings, redis)
        jobs()
    # RQ's back-off between attempts (server/jobs/outbox.py), one retry due at a time.
    assert [round(w / 5) * 5 for w in waits] == RETRY_INTERVALS[:2]
    assert _retry_due(settings, redis) == []
    assert len(hook.received) == 3
    assert len({got.headers["webhook-id"] for got in hook.received}) == 1  # one message
    now = int(datetime.now(UTC).timestamp())
    assert all(signature.verify(secret, g.headers, g.body, now=now) for g in hook.received)
    [issued] = _deliveries(client, auth_headers, world)
    assert issued["state"] == "delivered" and issued["delivered_at"]
    attempts = issued["attempts"]
    assert [a["status"] for a in attempts] == [500, 503, 204]
    assert attempts[0]["error"] == "HTTP 500: no" and attempts[2]["error"] is None
    assert all(a["at"] and a["url"] == hook.url for a in attempts)


def test_a_receiver_that_never_takes_it_is_given_up_after_the_configured_attempts(
    world, client, auth_headers, jobs, receiver, settings, redis, db
):
    hook = receiver([500])
    _hook(client, auth_headers, world, hook.url)
    order_id = _issue(client, auth_headers, world)
    jobs()
    while _retry_due(settings, redis):
        jobs()
    attempts = delivery.policy().attempts
    assert len(hook.received) == attempts
    [issued] = _deliveries(client, auth_headers, world)
    assert issued["state"] == "failed"
    assert [a["status"] for a in issued["attempts"]] == [500] * attempts
    entry = db["outbox"].find_one({"job": delivery.DELIVER_JOB})
    assert entry["state"] == "failed" and "attempt 5" in entry["last_error"]
    # The order itself is issued whatever the receiver does.
    assert db["orders"].find_one({"_id": order_id})["state"] == "issued"


def test_an_unreachable_receiver_is_recorded_without_a_status(
    world, client, auth_headers, jobs, db
):
    _hook(client, auth_headers, world, "http://127.0.0.1:9/closed")
    _issue(client, auth_headers, world)
    jobs()
    [issued] = _deliveries(client, auth_headers, world)
    [attempt] = issued["attempts"]
    assert issued["state"] == "pending" and attempt["status"] is None and attempt["error"]


def test_without_a_webhook_nothing_is_delivered(world, client, auth_headers, jobs, db):
    _issue(client, auth_headers, world)
    jobs()
    assert db["orders"].find_one()["state"] == "issued"
    assert db["webhook_deliveries"].count_documents({}) == 0
    assert db["outbox"].count_documents({"job": delivery.DELIVER_JOB}) == 0


def test_a_webhook_is_an_http_url(world, client, auth_headers):
    answer = client.put(
        f"/api/v1/enterprises/{world['firm'].id}/webhook",
        json={"url": "file:///etc/passwd"},
        headers=auth_headers(world["manager"]),
    )
    assert answer.status_code == 422
    assert answer.get_json()["reasons"] == [
        {"code": "URL", "field": "url", "detail": "http(s)://host/..."}
    ]


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data", "http://10.0.0.5:6379/", "http://[::1]/"]
)
def test_a_webhook_to_a_private_literal_address_is_refused_when_set(
    world, client, auth_headers, url
):
    answer = client.put(
        f"/api/v1/enterprises/{world['firm'].id}/webhook",
        json={"url": url},
        headers=auth_headers(world["manager"]),
    )
    assert answer.status_code == 422
    assert [r["code"] for r in answer.get_json()["reasons"]] == ["DESTINATION"]


def test_a_name_that_resolves_to_a_private_address_is_refused_when_delivered(
    world, client, auth_headers, jobs, receiver, db
):
    """The check is made on the address connected to: a name accepted when set (this suite
    allows 127.0.0.0/8) is refused at delivery where that network is not allowed."""
    hook = receiver([500, 200])
    _hook(client, auth_headers, world, hook.url.replace("127.0.0.1", "localhost"))
    _issue(client, auth_headers, world)
    jobs()  # numbered and announced; the first attempt (this suite's networks) gets a 500
    [pending] = db["webhook_deliveries"].find()
    assert len(hook.received) == 1
    with pytest.raises(delivery.DeliveryError):
        delivery.attempt(pending["_id"], allowed=())
    refused = db["webhook_deliveries"].find_one({"_id": pending["_id"]})["attempts"][-1]
    assert refused["status"] is None and "may not reach" in refused["error"]
    assert len(hook.received) == 1
    # Where the network is allowed, the same delivery goes through.
    delivery.attempt(pending["_id"], allowed=destination.networks(["127.0.0.0/8"]))
    assert len(hook.received) == 2


def test_only_public_addresses_and_allowed_networks_are_permitted():
    allowed = destination.networks(["192.168.10.0/24"])
    ok = ["8.8.8.8", "2001:4860:4860::8888", "192.168.10.7"]
    refused = ["127.0.0.1", "10.1.2.3", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1"]
    refused += ["::ffff:127.0.0.1", "fd00::1", "224.0.0.1", "192.168.11.7"]
    for text in ok:
        assert destination.permitted(ipaddress.ip_address(text), allowed), text
    for text in refused:
        assert not destination.permitted(ipaddress.ip_address(text), allowed), text
