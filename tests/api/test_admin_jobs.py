"""`GET /api/v1/admin/jobs`: admins see the outbox entries still to run or failed, and RQ's
failed registry, paged; every other role is refused; `jobs-retry` runs a failed one again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from server.actor import Role
from server.clock import utcnow
from server.jobs.outbox import run_entry
from server.services import outbox
from tests.factories import (
    EnterpriseFactory,
    JurisdictionFactory,
    UserFactory,
    enterprise_user,
    regulator,
)

URL = "/api/v1/admin/jobs"


def fails(entry_id: str) -> None:
    raise RuntimeError("receiver down")


def noop(entry_id: str) -> None:
    return None


@pytest.fixture
def entries(db, redis, settings, jobs):
    """One outbox entry in every state (none of them queued on RQ)."""
    outbox.register_job("test.noop", noop)
    outbox.register_job("test.fails", fails, max_attempts=1)
    now = utcnow()
    db["things"].insert_one({"_id": "t"})
    [pending] = outbox.stage(
        [outbox.Job("test.noop")], witnesses=[outbox.Witness("things", "t", "o", "x")], now=now
    )
    ready, running, done, failed = outbox.record(
        [outbox.Job("test.noop"), outbox.Job("test.noop"), outbox.Job("test.noop")]
        + [outbox.Job("test.fails")],
        now=now + timedelta(seconds=1),
    )
    outbox.claim(running, now=now)
    run_entry(done)
    run_entry(failed)
    Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer).empty()
    return {"pending": pending, "ready": ready, "running": running, "done": done, "failed": failed}


@pytest.fixture
def rq_failed(redis, settings, jobs):
    """A job RQ ran and recorded as failed (JSON can parse nothing of this)."""
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    job = queue.enqueue(json.loads, "not json", job_id="rq-failed-1")
    jobs()
    assert job.get_status(refresh=True) == "failed"
    return job.id


def _ids(response) -> list[str]:
    return [item["id"] for item in response.get_json()]


def test_admins_see_pending_ready_and_running_entries(client, auth_headers, entries):
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    response = client.get(URL, query_string={"state": "pending"}, headers=admin)
    assert response.status_code == 200
    by_id = {item["id"]: item for item in response.get_json()}
    assert set(by_id) == {entries["pending"], entries["ready"], entries["running"]}
    assert {i["state"] for i in by_id.values()} == {"pending", "ready", "running"}
    running = by_id[entries["running"]]
    assert running["source"] == "outbox" and running["job"] == "test.noop"
    assert running["attempts"] == 1 and running["lease_until"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 3


def test_failed_lists_failed_entries_then_rqs_failed_registry_paged(
    client, auth_headers, entries, rq_failed
):
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    response = client.get(URL, query_string={"state": "failed"}, headers=admin)
    assert response.status_code == 200
    items = response.get_json()
    assert [(i["source"], i["id"]) for i in items] == [
        ("outbox", entries["failed"]),
        ("rq", rq_failed),
    ]
    assert "receiver down" in items[0]["error"]
    assert items[1]["job"] == "json.loads" and "JSONDecodeError" in items[1]["error"]
    page2 = client.get(
        URL, query_string={"state": "failed", "page_size": 1, "page": 2}, headers=admin
    )
    assert _ids(page2) == [rq_failed]
    assert json.loads(page2.headers["X-Pagination"])["total"] == 2


@pytest.mark.parametrize("role", ["supervisor", "inspector", "enterprise_manager", "worker"])
def test_every_other_role_is_refused(client, auth_headers, entries, role):
    jurisdiction = JurisdictionFactory()
    if role in ("supervisor", "inspector"):
        user = regulator(Role(role), jurisdiction)
    else:
        user = enterprise_user(Role(role), EnterpriseFactory(jurisdiction_id=jurisdiction.id))
    for state in ("pending", "failed"):
        response = client.get(URL, query_string={"state": state}, headers=auth_headers(user))
        assert response.status_code == 403
        body = response.get_json()
        body.pop("request_id")
        assert body == {
            "type": "/problems/forbidden",
            "title": "Forbidden",
            "status": 403,
            "detail": "only an admin sees the jobs",
            "instance": URL,
        }


def test_without_a_token_or_a_state_the_answer_is_a_problem(client, auth_headers, db):
    assert client.get(URL, query_string={"state": "pending"}).status_code == 401
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    response = client.get(URL, query_string={"state": "lost"}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "state"


def test_a_page_past_any_real_list_is_empty_with_the_total(client, auth_headers, entries):
    # A fuzzed page of 3×10²³ made MongoDB's skip overflow (a 500).
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    response = client.get(
        URL, query_string={"state": "failed", "page": 3 * 10**23, "page_size": 10}, headers=admin
    )
    assert response.status_code == 200 and response.get_json() == []
    assert json.loads(response.headers["X-Pagination"])["total"] == 1


def test_with_redis_down_pending_is_listed_and_failed_answers_503(
    app_without_redis, auth_headers, entries
):
    client = app_without_redis.test_client()
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    assert client.get(URL, query_string={"state": "pending"}, headers=admin).status_code == 200
    response = client.get(URL, query_string={"state": "failed"}, headers=admin)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.get_json()["type"] == "/problems/service-unavailable"


def test_jobs_retry_runs_a_failed_entry_or_rq_job_again(
    app, db, redis, settings, entries, rq_failed, jobs
):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["jobs-retry", entries["failed"]])
    assert result.exit_code == 0, result.output
    assert f"{entries['failed']} will run again (outbox)" in result.output
    entry = db["outbox"].find_one({"_id": entries["failed"]})
    assert (entry["state"], entry["attempts"]) == ("ready", 0)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    assert entries["failed"] in queue.job_ids  # dispatched again, its failed record replaced
    result = runner.invoke(args=["jobs-retry", rq_failed])
    assert result.exit_code == 0 and "(rq)" in result.output
    assert rq_failed in queue.job_ids
    result = runner.invoke(args=["jobs-retry", "no-such-job"])
    assert result.exit_code == 1 and "no failed job no-such-job" in result.output
