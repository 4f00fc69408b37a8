"""Sync respects tenancy per role: nobody pushes into, or pulls, another tenant's objects."""

from __future__ import annotations

import pytest

from checklists.versions import pinned_template
from server.actor import Role
from server.models.inspection import Inspection
from tests.factories import EnterpriseFactory, JurisdictionFactory, enterprise_user, regulator
from tests.sync.helpers import passing_answers, phone_for


@pytest.fixture
def tenants(client, auth_headers, published):
    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    a, far = EnterpriseFactory(jurisdiction_id=j1.id), EnterpriseFactory(jurisdiction_id=j2.id)
    people = {
        "inspector1": regulator(Role.INSPECTOR, j1),
        "inspector2": regulator(Role.INSPECTOR, j1),
        "supervisor1": regulator(Role.SUPERVISOR, j1),
        "supervisor2": regulator(Role.SUPERVISOR, j2),
        "managerA": enterprise_user(Role.ENTERPRISE_MANAGER, a),
    }
    phones = {
        name: phone_for(client, user, auth_headers, device_id=f"phone-{name}", seed=n)
        for n, (name, user) in enumerate(people.items())
    }
    cs = pinned_template("CS", 1)
    own = phones["inspector1"].create_inspection(
        enterprise_id=str(a.id),
        checklist_code="CS",
        checklist_version=1,
        answers=passing_answers(cs, 2),
    )
    phones["inspector1"].sync()
    return {"a": a, "far": far, "phones": phones, "own": own}


def test_inspector_cannot_inspect_an_enterprise_outside_the_jurisdiction(tenants):
    phone = tenants["phones"]["inspector1"]
    phone.create_inspection(
        enterprise_id=str(tenants["far"].id), checklist_code="CS", checklist_version=1
    )
    receipt = phone.push()[0]
    assert receipt["status"] == "rejected"
    assert receipt["problem"]["type"] == "/problems/not-found"


@pytest.mark.parametrize("who", ["inspector2", "supervisor2", "managerA"])
def test_nobody_else_changes_an_inspectors_draft(tenants, who):
    phone = tenants["phones"][who]
    phone.local[tenants["own"]] = {"version": 1}
    phone.edit(tenants["own"], note="not mine")
    receipt = phone.push()[0]
    assert receipt["status"] == "rejected"
    assert receipt["problem"]["status"] == 404
    assert Inspection.objects.get(id=tenants["own"]).note is None


def test_supervisor_of_the_jurisdiction_sees_it_but_may_not_edit_it(tenants):
    phone = tenants["phones"]["supervisor1"]
    phone.pull()
    assert tenants["own"] in phone.server["inspections"]
    phone.local[tenants["own"]] = {"version": 1}
    phone.edit(tenants["own"], note="supervisor edit")
    receipt = phone.push()[0]
    assert receipt["status"] == "rejected" and receipt["problem"]["status"] == 403


@pytest.mark.parametrize(
    "who,sees",
    [
        ("inspector1", True),
        ("inspector2", False),
        ("supervisor1", True),
        ("supervisor2", False),
        ("managerA", False),
    ],
)
def test_pull_holds_only_what_the_role_may_see(tenants, who, sees):
    phone = tenants["phones"][who]
    phone.pull()
    assert (tenants["own"] in phone.server.get("inspections", {})) is sees
    enterprises = set(phone.server.get("enterprises", {}))
    assert (str(tenants["far"].id) in enterprises) is (who == "supervisor2")


def test_enterprise_users_cannot_make_inspections(tenants):
    phone = tenants["phones"]["managerA"]
    phone.create_inspection(
        enterprise_id=str(tenants["a"].id), checklist_code="CS", checklist_version=1
    )
    assert phone.push()[0]["problem"]["status"] == 403
