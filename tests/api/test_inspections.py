"""Inspections read over REST and through the feed, per role: supervisors their jurisdiction's,
inspectors their own, an enterprise's manager the submitted ones of their firm (never drafts,
never the inspector's position or phone), everyone else nothing; ids outside answer 404."""

from __future__ import annotations

import pytest

from checklists.versions import pinned_template
from server.actor import Role
from sync import feed
from tests.factories import EnterpriseFactory, JurisdictionFactory, enterprise_user, regulator
from tests.sync.helpers import passing_answers, phone_for

WHERE = {"longitude": 121.5, "latitude": 31.2, "accuracy_m": 5.0}


@pytest.fixture
def world(client, auth_headers, published):
    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    a, b = EnterpriseFactory(jurisdiction_id=j1.id), EnterpriseFactory(jurisdiction_id=j1.id)
    c = EnterpriseFactory(jurisdiction_id=j2.id)
    people = {
        "supervisor1": regulator(Role.SUPERVISOR, j1),
        "inspector1": regulator(Role.INSPECTOR, j1),
        "inspector1b": regulator(Role.INSPECTOR, j1),
        "supervisor2": regulator(Role.SUPERVISOR, j2),
        "managerA": enterprise_user(Role.ENTERPRISE_MANAGER, a),
        "workerA": enterprise_user(Role.WORKER, a),
        "managerB": enterprise_user(Role.ENTERPRISE_MANAGER, b),
        "managerC": enterprise_user(Role.ENTERPRISE_MANAGER, c),
    }
    phone = phone_for(client, people["inspector1"], auth_headers, device_id="phone-insp-0001")
    cs = pinned_template("CS", 1)
    submitted = phone.create_inspection(
        enterprise_id=str(a.id),
        checklist_code="CS",
        checklist_version=1,
        answers=passing_answers(cs),
        location=WHERE,
    )
    phone.submit(submitted)
    draft = phone.create_inspection(
        enterprise_id=str(a.id), checklist_code="CS", checklist_version=1, answers={}
    )
    assert [r["status"] for r in phone.push()] == ["applied"] * 3
    return {"people": people, "submitted": submitted, "draft": draft, "A": a}


# Who reads which: the submitted inspection of A, and the draft of A.
READERS = {
    "submitted": {"supervisor1", "inspector1", "managerA"},
    "draft": {"supervisor1", "inspector1"},
}


@pytest.mark.parametrize(
    "who",
    [
        "supervisor1",
        "inspector1",
        "inspector1b",
        "supervisor2",
        "managerA",
        "workerA",
        "managerB",
        "managerC",
    ],
)
def test_each_role_reads_exactly_its_inspections(world, client, auth_headers, who):
    headers = auth_headers(world["people"][who])
    listed = client.get("/api/v1/inspections", headers=headers)
    assert listed.status_code == 200
    ids = {i["id"] for i in listed.get_json()}
    for kind, readers in READERS.items():
        one = client.get(f"/api/v1/inspections/{world[kind]}", headers=headers)
        assert one.status_code == (200 if who in readers else 404), (who, kind)
        assert (world[kind] in ids) is (who in readers), (who, kind)
    if who != "managerA":
        return
    body = client.get(f"/api/v1/inspections/{world['submitted']}", headers=headers).get_json()
    assert body["status"] == "submitted" and body["answers"]["CS-01"]["outcome"] == "pass"
    assert {"location", "device_id", "clock_offset_s"}.isdisjoint(body)


def test_a_supervisor_filters_and_sees_where_the_inspector_stood(world, client, auth_headers):
    headers = auth_headers(world["people"]["supervisor1"])
    drafts = client.get("/api/v1/inspections?status=draft", headers=headers).get_json()
    assert [i["id"] for i in drafts] == [world["draft"]]
    mine = client.get(
        f"/api/v1/inspections?enterprise_id={world['A'].id}&status=submitted", headers=headers
    )
    [found] = mine.get_json()
    assert found["location"] == WHERE
    assert found["device_id"] == "phone-insp-0001"
    assert mine.headers["X-Pagination"]


def test_the_manager_receives_the_finding_in_the_feed_without_the_inspectors_position(world, db):
    manager = world["people"]["managerA"].actor()
    page = feed.pull(db, manager, cursor=None, limit=500)
    inspections = {c["id"]: c for c in page.decoded() if c["collection"] == "inspections"}
    assert set(inspections) == {world["submitted"]}
    data = inspections[world["submitted"]]["data"]
    assert data["status"] == "submitted"
    assert {"location", "device_id"}.isdisjoint(data)
