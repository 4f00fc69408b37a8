"""Demo seeding: idempotent, and it refuses a database this project did not create."""

from __future__ import annotations

import logging

import pytest

from server.clock import utcnow
from server.models.enterprise import Enterprise
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
