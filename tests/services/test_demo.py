"""Demo seeding: idempotent, and it refuses a database this project did not create; the demo
spaces let the worker in right after a start and deny at the second space."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest

from server.clock import rfc3339, utcnow
from server.models.enterprise import Enterprise
from server.models.entry import EntryEvent
from server.models.permit import Permit, PermitRecord, PermitStatus
from server.models.space import Space
from server.models.user import User
from server.services import demo
from server.services.passwords import verify_password


def test_seed_creates_the_demo_once(db):
    first = demo.seed_demo(now=utcnow(), password_profile="CHEAPEST")
    again = demo.seed_demo(now=utcnow(), password_profile="CHEAPEST")
    assert set(first["users"]) == {
        "admin",
        "supervisor",
        "inspector",
        "manager",
        "worker",
        "attendant",
        "manager-b",
    }
    assert User.objects.count() == 7
    assert Enterprise.objects.count() == 2
    assert {u.id for u in first["users"].values()} == {u.id for u in again["users"].values()}
    manager_b = User.objects.get(username="manager-b")
    assert manager_b.enterprise_id == again["enterprises"]["B"].id
    assert verify_password(manager_b.password_hash, demo.DEMO_PASSWORD)


def test_seed_refuses_a_database_it_did_not_create(db):
    db["someone_elses"].insert_one({"x": 1})
    with pytest.raises(demo.ForeignDatabase):
        demo.seed_demo(now=utcnow(), password_profile="CHEAPEST")
    assert User.objects.count() == 0
    demo.seed_demo(now=utcnow(), password_profile="CHEAPEST", force=True)
    assert User.objects.count() == 7


def test_the_log_says_what_was_created_and_what_was_there(db, caplog):
    with caplog.at_level(logging.INFO, logger="server.services.demo"):
        demo.seed_demo(now=utcnow(), password_profile="CHEAPEST")
        User.objects(username="worker").delete()
        demo.seed_demo(now=utcnow(), password_profile="CHEAPEST")
        demo.seed_demo(now=utcnow(), password_profile="CHEAPEST")
    first, second, third = [r for r in caplog.records if r.name == "server.services.demo"]
    assert first.getMessage() == "demo data created"
    assert len(first.added) == 1 + 2 + 7  # the jurisdiction, enterprises A and B, users
    assert second.getMessage() == "demo data completed"
    assert second.added == ["user worker"]
    assert third.getMessage() == "demo data present"
    assert third.added == []


def _scan(client, headers, token, action="enter"):
    body = {
        "token": token,
        "action": action,
        "nonce": uuid.uuid4().hex,
        "sent_at": rfc3339(utcnow()),
        "device_id": "demo-phone",
    }
    response = client.post("/api/v1/spaces/scan", json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_demo_spaces_let_the_worker_in_and_deny_at_the_second(
    client, settings, auth_headers, jobs
):
    seeded = demo.seed_demo(now=utcnow(), password_profile="CHEAPEST", settings=settings)
    again = demo.seed_demo(now=utcnow(), password_profile="CHEAPEST", settings=settings)
    users = again["users"]
    # Seeding twice leaves one set: three spaces, each labelled once, one permit in force.
    assert Space.objects.count() == 3
    assert {s.label_version for s in Space.objects()} == {1}
    assert Permit.objects(status__in=list(PermitStatus.IN_FORCE)).count() == 1
    assert again["spaces"]["permit"]["_id"] == seeded["spaces"]["permit"]["_id"]
    # The gas test and ventilation are recorded at each start; the check-in once, it holds.
    tests = PermitRecord.objects(permit_id=again["spaces"]["permit"]["_id"], kind="gas_test")
    assert tests.count() == 2
    jobs()
    checked_in = EntryEvent.objects(action="attendant_check_in", allowed=True)
    assert [e.worker_id for e in checked_in] == [users["attendant"].id]
    # The worker scans the first space's label (as the README shows) and goes in.
    manager, worker = auth_headers(users["manager"]), auth_headers(users["worker"])
    first, second = (again["spaces"]["spaces"][code] for code in ("YX-001", "YX-002"))
    label = client.get(f"/api/v1/spaces/{first.id}/label", headers=manager).get_json()
    entered = _scan(client, worker, label["token"])
    assert entered["allowed"], entered["reasons"]
    assert entered["headcount"] == 1
    # At the second space there is no permit: denied, with reasons.
    label = client.get(f"/api/v1/spaces/{second.id}/label", headers=manager).get_json()
    denied = _scan(client, worker, label["token"])
    assert not denied["allowed"]
    assert "NO_PERMIT" in [r["code"] for r in denied["reasons"]]
    assert all(r["zh-CN"] and r["en"] for r in denied["reasons"])


def test_a_later_start_replaces_an_expired_demo_permit(settings, jobs, db):
    start = utcnow()
    first = demo.seed_demo(now=start, password_profile="CHEAPEST", settings=settings)
    later = demo.seed_demo(
        now=start + timedelta(hours=5), password_profile="CHEAPEST", settings=settings
    )
    assert later["spaces"]["permit"]["_id"] != first["spaces"]["permit"]["_id"]
    assert Permit.objects.get(id=first["spaces"]["permit"]["_id"]).status == PermitStatus.CANCELLED
    assert Permit.objects(status__in=list(PermitStatus.IN_FORCE)).count() == 1
    assert (
        later["spaces"]["permit"]["valid_from"]
        <= start + timedelta(hours=5)
        < later["spaces"]["permit"]["valid_to"]
    )
