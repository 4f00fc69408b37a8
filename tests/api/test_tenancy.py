"""Tenancy, per endpoint and per role: another tenant's id answers 404, lists hold only what
the caller may see, and writes cannot reach outside the caller's scope."""

from __future__ import annotations

import os
import secrets
import uuid
from datetime import UTC, datetime

import pytest
from bson import ObjectId

from server.actor import Role
from server.clock import utcnow
from server.models.alarm import Alarm
from server.models.device import Device
from server.models.inspection import Inspection
from server.models.issuing_body import IssuingBody
from server.models.monthly_report import MonthlyReport
from server.models.number_block import NumberBlock
from server.models.order import Order
from server.models.permit import Permit
from server.models.public_report import PublicReport
from server.models.space import Space
from server.models.violation import Violation
from tests.factories import (
    EnterpriseFactory,
    JurisdictionFactory,
    UserFactory,
    enterprise_user,
    regulator,
)


@pytest.fixture
def world(db):
    """Two jurisdictions: J1 with enterprises A and B, J2 with enterprise C; one user per role."""
    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    a, b = EnterpriseFactory(jurisdiction_id=j1.id), EnterpriseFactory(jurisdiction_id=j1.id)
    c = EnterpriseFactory(jurisdiction_id=j2.id)
    users = {
        "admin": UserFactory(role=Role.ADMIN.value),
        "supervisor1": regulator(Role.SUPERVISOR, j1),
        "inspector1": regulator(Role.INSPECTOR, j1),
        "supervisor2": regulator(Role.SUPERVISOR, j2),
        "managerA": enterprise_user(Role.ENTERPRISE_MANAGER, a),
        "workerA": enterprise_user(Role.WORKER, a),
        "managerB": enterprise_user(Role.ENTERPRISE_MANAGER, b),
        "managerC": enterprise_user(Role.ENTERPRISE_MANAGER, c),
    }
    for name in ("workerA", "managerB"):
        u = users[name]
        Device(
            device_id=f"device-{name}",
            user_id=u.id,
            jurisdiction_id=u.jurisdiction_id,
            enterprise_id=u.enterprise_id,
        ).save()
    permits = {f"permit{e}": _permit(enterprise, users) for e, enterprise in (("A", a), ("C", c))}
    alarms = {
        f"alarm{e}": Alarm(
            id=f"overstay:{permits[f'permit{e}'].id}",
            kind="overstay",
            space_id=permits[f"permit{e}"].space_id,
            permit_id=permits[f"permit{e}"].id,
            enterprise_id=enterprise.id,
            jurisdiction_id=enterprise.jurisdiction_id,
        ).save()
        for e, enterprise in (("A", a), ("C", c))
    }
    violations = {
        f"violation{e}": Violation(
            id=f"overstay:{alarms[f'alarm{e}'].id}",
            kind="overstay",
            space_id=permits[f"permit{e}"].space_id,
            enterprise_id=enterprise.id,
            jurisdiction_id=enterprise.jurisdiction_id,
            alarm_id=alarms[f"alarm{e}"].id,
            at=utcnow(),
        ).save()
        for e, enterprise in (("A", a), ("C", c))
    }
    reports = {name: _public_report(j) for name, j in (("R1", j1), ("R2", j2))}
    bodies = {
        "BODY1": _issuing_body(j1),
        "BODY2": _issuing_body(j2),
    }
    orders = {
        "ORDER_A": _order(a, users["inspector1"], users["supervisor1"], bodies["BODY1"]),
        "ORDER_A_UNNUMBERED": _order(
            a, users["inspector1"], users["supervisor1"], bodies["BODY1"], numbered=False
        ),
        "ORDER_C": _order(c, users["supervisor2"], users["supervisor2"], bodies["BODY2"]),
    }
    inspections = {
        "INSP_A": _submitted_inspection(a, users["inspector1"]),
        "INSP_C": _submitted_inspection(c, users["supervisor2"]),
    }
    blocks = {
        "BLOCK1": _block(users["inspector1"], bodies["BODY1"]),
        "BLOCK2": _block(users["supervisor2"], bodies["BODY2"]),
    }
    monthly = {
        f"monthly{e}": _monthly_report(f, users[f"manager{e}"]) for e, f in (("A", a), ("C", c))
    }
    return {
        "J1": j1,
        "J2": j2,
        "A": a,
        "B": b,
        "C": c,
        **users,
        **permits,
        "SPACE_A": permits["permitA"].space_id,
        **alarms,
        **violations,
        **reports,
        **bodies,
        **orders,
        **blocks,
        **inspections,
        **monthly,
    }


def _submitted_inspection(enterprise, inspector) -> Inspection:
    """A submitted inspection awaiting review (one answered item)."""
    now = utcnow()
    return Inspection(
        id=str(uuid.uuid4()),
        checklist_code="CS",
        checklist_version=1,
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        inspector_id=inspector.id,
        device_id="phone-1",
        status="submitted",
        answers={"CS-01": {"value": "yes", "outcome": "pass", "photos": []}},
        submitted_at=now,
    ).save()


def _permit(enterprise, users) -> Permit:
    """A space of the enterprise and a draft permit on it."""
    space = Space(
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        code="S-1",
        name="污水井",
        type="underground",
    ).save()
    return Permit(
        id=str(uuid.uuid4()),
        space_id=space.id,
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        regime="industrial",
        work="清淤",
        applicant_id=users["admin"].id,
        valid_from=datetime(2026, 12, 1, tzinfo=UTC),
        valid_to=datetime(2026, 12, 2, tzinfo=UTC),
        attendants=[users["admin"].id],
        max_headcount=1,
    ).save()


def _block(inspector, body):
    """A reserved block as `reserve` leaves it (its numbers do not matter here)."""
    return NumberBlock(
        id=str(uuid.uuid4()),
        issuing_body_id=body.id,
        jurisdiction_id=body.jurisdiction_id,
        inspector_id=inspector.id,
        device_id="device-x",
        year=2026,
        size=1,
    ).save()


def _issuing_body(jurisdiction):
    return IssuingBody(
        name=f"应急管理局 {jurisdiction.code}",
        jurisdiction_id=jurisdiction.id,
        number_format="应急责改〔{year}〕第{n}号",
        reconsideration_body="人民政府",
        court="人民法院",
    ).save()


def _order(enterprise, inspector, co_inspector, body, *, numbered=True):
    """An order as its job leaves it (numbered) or as requested."""
    now = utcnow()
    return Order(
        id=str(uuid.uuid4()),
        state="issued" if numbered else "requested",
        number="应急责改〔2026〕第1号" if numbered else None,
        issuing_body_id=body.id,
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        inspection_id=str(uuid.uuid4()),
        inspector_id=inspector.id,
        co_inspector_id=co_inspector.id,
        check_token=secrets.token_urlsafe(18),
        requested_by=inspector.id,
        requested_at=now,
        issued_at=now if numbered else None,
    ).save()


def _monthly_report(enterprise, manager) -> MonthlyReport:
    return MonthlyReport(
        id=f"{enterprise.id}:2026-11",
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        month="2026-11",
        nil=True,
        hazards_found=0,
        hazards_rectified=0,
        submitted_by=manager.id,
        submitted_at=utcnow(),
    ).save()


def _public_report(jurisdiction) -> PublicReport:
    return PublicReport(
        code_hash=os.urandom(32).hex(),
        jurisdiction_id=jurisdiction.id,
        enterprise_name="某企业",
        description="消防通道堵塞",
        contact="13800138000",
        uploader_id=ObjectId(),
    ).save()


ALL = [
    "admin",
    "supervisor1",
    "inspector1",
    "supervisor2",
    "managerA",
    "workerA",
    "managerB",
    "managerC",
]

# (url template, who may read it); everyone else must get 404.
READS = [
    ("/api/v1/jurisdictions/{J1}", {"admin", "supervisor1", "inspector1"}),
    ("/api/v1/enterprises/{A}", {"admin", "supervisor1", "inspector1", "managerA", "workerA"}),
    ("/api/v1/enterprises/{C}", {"admin", "supervisor2", "managerC"}),
    ("/api/v1/users/{managerA}", {"admin", "supervisor1", "managerA"}),
    ("/api/v1/users/{workerA}", {"admin", "supervisor1", "managerA", "workerA"}),
    ("/api/v1/users/{supervisor2}", {"admin", "supervisor2"}),
    ("/api/v1/devices/device-workerA", {"admin", "supervisor1", "workerA"}),
    ("/api/v1/devices/device-managerB", {"admin", "supervisor1", "managerB"}),
    ("/api/v1/permits/{permitA}", {"admin", "supervisor1", "managerA", "workerA"}),
    ("/api/v1/permits/{permitA}/records", {"admin", "supervisor1", "managerA", "workerA"}),
    ("/api/v1/permits/{permitC}", {"admin", "supervisor2", "managerC"}),
    ("/api/v1/alarms/{alarmA}", {"admin", "supervisor1", "managerA", "workerA"}),
    ("/api/v1/alarms/{alarmC}", {"admin", "supervisor2", "managerC"}),
    # The decision preview: whoever sees the space previews their own scan there.
    (
        "/api/v1/spaces/{SPACE_A}/entry-preview?action=enter",
        {"admin", "supervisor1", "inspector1", "managerA", "workerA"},
    ),
    # Public reports: the supervisors of their jurisdiction alone (and admins), never the
    # jurisdiction's inspectors nor any enterprise.
    ("/api/v1/public-reports/{R1}", {"admin", "supervisor1"}),
    ("/api/v1/public-reports/{R2}", {"admin", "supervisor2"}),
    ("/api/v1/issuing-bodies/{BODY1}", {"admin", "supervisor1", "inspector1"}),
    ("/api/v1/issuing-bodies/{BODY2}", {"admin", "supervisor2"}),
    # Both inspectors of an order (here an inspector and a supervisor), the jurisdiction's
    # supervisors, and the enterprise once it is numbered.
    ("/api/v1/orders/{ORDER_A}", {"admin", "supervisor1", "inspector1", "managerA"}),
    ("/api/v1/orders/{ORDER_A_UNNUMBERED}", {"admin", "supervisor1", "inspector1"}),
    ("/api/v1/orders/{ORDER_C}", {"admin", "supervisor2", "managerC"}),
    ("/api/v1/number-blocks/{BLOCK1}", {"admin", "supervisor1", "inspector1"}),
    ("/api/v1/number-blocks/{BLOCK2}", {"admin", "supervisor2"}),
    # Review decisions: the reviewers of the jurisdiction and the inspection's inspector.
    ("/api/v1/inspections/{INSP_A}/decisions", {"admin", "supervisor1", "inspector1"}),
    ("/api/v1/inspections/{INSP_C}/decisions", {"admin", "supervisor2"}),
    # The monthly ledger: the jurisdiction's regulators (and admins).
    (
        "/api/v1/jurisdictions/{J1}/monthly-ledger.csv?month=2026-11",
        {"admin", "supervisor1", "inspector1"},
    ),
    ("/api/v1/jurisdictions/{J2}/monthly-ledger.csv?month=2026-11", {"admin", "supervisor2"}),
]


def _url(template: str, world) -> str:
    return template.format(**{k: getattr(v, "id", v) for k, v in world.items()})


@pytest.mark.parametrize("template,readers", READS, ids=[r[0] for r in READS])
@pytest.mark.parametrize("who", ALL)
def test_reads_are_scoped(client, auth_headers, world, template, readers, who):
    response = client.get(_url(template, world), headers=auth_headers(world[who]))
    if who in readers:
        assert response.status_code == 200, response.get_json()
    else:
        assert response.status_code == 404, f"{who} could read {template}"
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["type"] == "/problems/not-found"


LISTS = {
    "/api/v1/alarms": {
        "admin": {"alarmA", "alarmC"},
        "supervisor1": {"alarmA"},
        "inspector1": set(),
        "supervisor2": {"alarmC"},
        "managerA": {"alarmA"},
        "workerA": {"alarmA"},
        "managerB": set(),
        "managerC": {"alarmC"},
    },
    # The enterprise's manager and its jurisdiction's supervisors (no worker, no inspector).
    "/api/v1/violations": {
        "admin": {"violationA", "violationC"},
        "supervisor1": {"violationA"},
        "inspector1": set(),
        "supervisor2": {"violationC"},
        "managerA": {"violationA"},
        "workerA": set(),
        "managerB": set(),
        "managerC": {"violationC"},
    },
    "/api/v1/permits": {
        "admin": {"permitA", "permitC"},
        "supervisor1": {"permitA"},
        "inspector1": set(),
        "supervisor2": {"permitC"},
        "managerA": {"permitA"},
        "workerA": {"permitA"},
        "managerB": set(),
        "managerC": {"permitC"},
    },
    "/api/v1/enterprises": {
        "admin": {"A", "B", "C"},
        "supervisor1": {"A", "B"},
        "inspector1": {"A", "B"},
        "supervisor2": {"C"},
        "managerA": {"A"},
        "workerA": {"A"},
        "managerB": {"B"},
        "managerC": {"C"},
    },
    "/api/v1/jurisdictions": {
        "admin": {"J1", "J2"},
        "supervisor1": {"J1"},
        "inspector1": {"J1"},
        "supervisor2": {"J2"},
        "managerA": set(),
        "workerA": set(),
        "managerB": set(),
        "managerC": set(),
    },
    "/api/v1/public-reports": {
        "admin": {"R1", "R2"},
        "supervisor1": {"R1"},
        "inspector1": set(),
        "supervisor2": {"R2"},
        "managerA": set(),
        "workerA": set(),
        "managerB": set(),
        "managerC": set(),
    },
    "/api/v1/issuing-bodies": {
        "admin": {"BODY1", "BODY2"},
        "supervisor1": {"BODY1"},
        "inspector1": {"BODY1"},
        "supervisor2": {"BODY2"},
        "managerA": set(),
        "workerA": set(),
        "managerB": set(),
        "managerC": set(),
    },
    "/api/v1/number-blocks": {
        "admin": {"BLOCK1", "BLOCK2"},
        "supervisor1": {"BLOCK1"},
        "inspector1": {"BLOCK1"},
        "supervisor2": {"BLOCK2"},
        "managerA": set(),
        "workerA": set(),
        "managerB": set(),
        "managerC": set(),
    },
    "/api/v1/orders": {
        "admin": {"ORDER_A", "ORDER_A_UNNUMBERED", "ORDER_C"},
        "supervisor1": {"ORDER_A", "ORDER_A_UNNUMBERED"},
        "inspector1": {"ORDER_A", "ORDER_A_UNNUMBERED"},
        "supervisor2": {"ORDER_C"},
        "managerA": {"ORDER_A"},
        "workerA": set(),
        "managerB": set(),
        "managerC": {"ORDER_C"},
    },
    "/api/v1/monthly-reports": {
        "admin": {"monthlyA", "monthlyC"},
        "supervisor1": {"monthlyA"},
        "inspector1": set(),
        "supervisor2": {"monthlyC"},
        "managerA": {"monthlyA"},
        "workerA": set(),
        "managerB": set(),
        "managerC": {"monthlyC"},
    },
    "/api/v1/users": {
        "admin": set(ALL),
        "supervisor1": {"supervisor1", "inspector1", "managerA", "workerA", "managerB"},
        "inspector1": {"inspector1"},
        "supervisor2": {"supervisor2", "managerC"},
        "managerA": {"managerA", "workerA"},
        "workerA": {"workerA"},
        "managerB": {"managerB"},
        "managerC": {"managerC"},
    },
}


@pytest.mark.parametrize("url", sorted(LISTS))
@pytest.mark.parametrize("who", ALL)
def test_lists_hold_only_what_the_caller_may_see(client, auth_headers, world, url, who):
    response = client.get(url, headers=auth_headers(world[who]))
    assert response.status_code == 200
    ids = {item["id"] for item in response.get_json()}
    assert ids == {str(world[name].id) for name in LISTS[url][who]}


#: `/api/v1/figures` per role: the caller's own scope (200), a jurisdiction or enterprise
#: outside it (404), a role that reads no figures (403).
FIGURES = {
    "": dict.fromkeys(
        ("admin", "supervisor1", "supervisor2", "managerA", "managerB", "managerC"), 200
    ),
    "?jurisdiction_id={J1}": {"admin": 200, "supervisor1": 200},
    "?enterprise_id={A}": {"admin": 200, "supervisor1": 200, "managerA": 200},
    "?enterprise_id={C}": {"admin": 200, "supervisor2": 200, "managerC": 200},
}


@pytest.mark.parametrize("query", sorted(FIGURES))
@pytest.mark.parametrize("who", ALL)
def test_figures_are_scoped(client, auth_headers, world, query, who):
    response = client.get(_url("/api/v1/figures" + query, world), headers=auth_headers(world[who]))
    refused = 403 if who in ("inspector1", "workerA") else 404
    assert response.status_code == FIGURES[query].get(who, refused), response.get_json()


def test_devices_list_is_scoped(client, auth_headers, world):
    seen = {
        who: {
            d["device_id"]
            for d in client.get("/api/v1/devices", headers=auth_headers(world[who])).get_json()
        }
        for who in ALL
    }
    assert seen["admin"] == seen["supervisor1"] == {"device-workerA", "device-managerB"}
    assert seen["workerA"] == {"device-workerA"}
    assert seen["managerB"] == {"device-managerB"}
    assert seen["managerA"] == seen["supervisor2"] == seen["managerC"] == set()


@pytest.mark.parametrize("who", ALL)
def test_permits_are_written_only_inside_the_callers_enterprise(client, auth_headers, world, who):
    permit = world["permitA"]
    headers = auth_headers(world[who])
    record = {"kind": "briefing", "at": "2026-12-01T09:00:00+08:00"}
    appended = client.post(f"/api/v1/permits/{permit.id}/records", json=record, headers=headers)
    step = {"action": "approve", "version": 1, "capacity": "principal"}
    approved = client.post(f"/api/v1/permits/{permit.id}/transitions", json=step, headers=headers)
    if who in ("admin", "managerA", "workerA"):
        assert appended.status_code == 201
    elif who == "supervisor1":
        assert appended.status_code == 403  # sees it, records nothing on it
    else:
        assert appended.status_code == 404
    if who in ("admin", "managerA"):
        assert approved.status_code == 200
    else:
        assert approved.status_code == (403 if who in ("supervisor1", "workerA") else 404)


def test_manager_b_cannot_change_enterprise_a(client, auth_headers, world):
    url = f"/api/v1/enterprises/{world['A'].id}"
    response = client.patch(
        url,
        json={"name": "hijacked"},
        headers={**auth_headers(world["managerB"]), "If-Match": '"x"'},
    )
    assert response.status_code == 404
    assert world["A"].reload().name != "hijacked"


def test_manager_b_cannot_disable_a_worker_of_a(client, auth_headers, world):
    url = f"/api/v1/users/{world['workerA'].id}"
    response = client.patch(
        url, json={"active": False}, headers={**auth_headers(world["managerB"]), "If-Match": '"x"'}
    )
    assert response.status_code == 404
    assert world["workerA"].reload().active is True


@pytest.mark.parametrize(
    "who,body",
    [
        ("managerB", {"role": "worker", "enterprise_id": "A"}),
        ("supervisor2", {"role": "enterprise_manager", "enterprise_id": "A"}),
        ("supervisor2", {"role": "inspector", "jurisdiction_id": "J1"}),
    ],
)
def test_users_cannot_be_created_in_another_tenant(client, auth_headers, world, who, body):
    body = {k: str(world[v].id) if k.endswith("_id") else v for k, v in body.items()}
    response = client.post(
        "/api/v1/users",
        json={"username": "intruder", "password": "long-enough-1", "display_name": "x", **body},
        headers=auth_headers(world[who]),
    )
    assert response.status_code == 404
    assert response.get_json()["type"] == "/problems/not-found"


def test_enterprise_cannot_be_registered_in_another_jurisdiction(client, auth_headers, world):
    from tests.factories import credit_code

    response = client.post(
        "/api/v1/enterprises",
        json={
            "name": "x",
            "credit_code": credit_code(999),
            "industry": "机械",
            "address": "y",
            "jurisdiction_id": str(world["J2"].id),
        },
        headers=auth_headers(world["supervisor1"]),
    )
    assert response.status_code == 404


@pytest.mark.parametrize("who", ["inspector1", "managerA", "workerA", "managerB"])
def test_roles_without_the_right_get_403_on_creation(client, auth_headers, world, who):
    response = client.post(
        "/api/v1/jurisdictions",
        json={"code": "320000", "name": "x"},
        headers=auth_headers(world[who]),
    )
    assert response.status_code == 403
    assert response.get_json()["type"] == "/problems/forbidden"


@pytest.mark.parametrize("who", ALL)
def test_checklists_are_readable_by_every_role(client, auth_headers, world, who, published):
    response = client.get("/api/v1/checklists/CS", headers=auth_headers(world[who]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/checklists",
        "/api/v1/enterprises",
        "/api/v1/users",
        "/api/v1/devices",
        "/api/v1/jurisdictions",
        "/api/v1/me",
        "/api/v1/permits",
        "/api/v1/alarms",
        "/api/v1/violations",
        "/api/v1/public-reports",
    ],
)
def test_every_endpoint_needs_a_token(client, world, url):
    assert client.get(url).status_code == 401


@pytest.mark.parametrize("who", ALL)
def test_only_admins_override_a_regime_and_others_cannot_see_other_tenants(
    client, auth_headers, world, who
):
    url = f"/api/v1/enterprises/{world['A'].id}"
    before = world["A"].regime
    etag = client.get(url, headers=auth_headers(world["admin"])).headers["ETag"]
    response = client.put(
        f"{url}/regime",
        json={"regime": "hazchem", "reason": "储存危险化学品"},
        headers={**auth_headers(world[who]), "If-Match": etag},
    )
    readers = {"admin", "supervisor1", "inspector1", "managerA", "workerA"}
    expected = 200 if who == "admin" else 403 if who in readers else 404
    assert response.status_code == expected, response.get_json()
    assert world["A"].reload().regime == ("hazchem" if who == "admin" else before)


@pytest.mark.parametrize("who", ["supervisor1", "inspector1", "managerA", "workerA"])
def test_only_admins_keep_issuing_bodies(client, auth_headers, world, who):
    body = {
        "name": "应急管理局",
        "jurisdiction_id": str(world["J1"].id),
        "number_format": "应急责改〔{year}〕第{n}号",
        "reconsideration_body": "人民政府",
        "court": "人民法院",
    }
    response = client.post("/api/v1/issuing-bodies", json=body, headers=auth_headers(world[who]))
    assert response.status_code == 403
    made = client.post("/api/v1/issuing-bodies", json=body, headers=auth_headers(world["admin"]))
    assert made.status_code == 201 and made.get_json()["number_format"] == body["number_format"]


@pytest.mark.parametrize("who", ["supervisor1", "inspector1", "managerA", "managerB", "managerC"])
def test_another_tenants_order_cannot_be_served(client, auth_headers, world, who):
    target = "ORDER_C" if who != "managerC" else "ORDER_A"
    response = client.post(
        f"/api/v1/orders/{world[target].id}/service",
        json={"kind": "acknowledged"},
        headers=auth_headers(world[who]),
    )
    assert response.status_code == 404


def test_only_an_admin_sets_an_enforcement_certificate(client, auth_headers, world):
    body = {"enforcement_certificate": "31010099"}

    def patch(user, who):
        url, headers = f"/api/v1/users/{world[user].id}", auth_headers(world[who])
        etag = client.get(url, headers=headers).headers["ETag"]
        return client.patch(url, json=body, headers={**headers, "If-Match": etag})

    assert patch("inspector1", "supervisor1").status_code == 403
    done = patch("inspector1", "admin")
    assert done.status_code == 200 and done.get_json()["enforcement_certificate"] == "31010099"
    assert patch("managerA", "admin").status_code == 422


@pytest.mark.parametrize("who", ALL)
def test_only_an_admin_or_the_enterprises_manager_keeps_its_webhook(
    client, auth_headers, world, who
):
    base = f"/api/v1/enterprises/{world['A'].id}/webhook"
    put = client.put(
        base, json={"url": "https://a.example/hooks"}, headers=auth_headers(world[who])
    )
    sees_firm = {"admin", "supervisor1", "inspector1", "managerA", "workerA"}
    keepers = {"admin", "managerA"}
    expected = 200 if who in keepers else 403 if who in sees_firm else 404
    assert put.status_code == expected, put.get_json()
    assert ("secret" in put.get_json()) is (who in keepers)
    for url in (base, f"{base}/deliveries"):
        got = client.get(url, headers=auth_headers(world[who]))
        assert got.status_code == expected, (url, got.get_json())


@pytest.mark.parametrize("who", ALL)
def test_a_reinspection_opinion_is_read_only_by_those_who_read_the_order(
    client, auth_headers, world, who
):
    url = f"/api/v1/orders/{world['ORDER_A'].id}/reinspection-opinion.pdf"
    response = client.get(url, headers=auth_headers(world[who]))
    readers = {"admin", "supervisor1", "inspector1", "managerA"}
    # Readers learn that nothing was re-inspected yet; nobody else that the order exists.
    assert response.status_code == (422 if who in readers else 404), response.get_json()


def _casefile_objects(world) -> dict[str, str]:
    """A hazard and a submitted inspection of enterprise A, both by inspector1."""
    from server.models.hazard import Hazard
    from server.models.inspection import Inspection

    a, inspector = world["A"], world["inspector1"]
    tenancy = {"enterprise_id": a.id, "jurisdiction_id": a.jurisdiction_id}
    hazard = Hazard(
        id=str(uuid.uuid4()),
        source="manual",
        inspector_id=inspector.id,
        description="安全绳未系挂",
        level="general",
        state="found",
        **tenancy,
    ).save()
    inspection = Inspection(
        id=str(uuid.uuid4()),
        checklist_code="CS",
        checklist_version=1,
        inspector_id=inspector.id,
        device_id="device-x",
        status="submitted",
        **tenancy,
    ).save()
    return {"hazards": hazard.id, "inspections": inspection.id}


@pytest.mark.parametrize("kind", ["hazards", "inspections"])
@pytest.mark.parametrize("who", ALL)
def test_case_files_are_read_by_admins_and_the_jurisdictions_supervisors(
    client, auth_headers, world, kind, who
):
    url = f"/api/v1/{kind}/{_casefile_objects(world)[kind]}/casefile.pdf"
    response = client.get(url, headers=auth_headers(world[who]))
    # Who sees the object but reads no case files learns only that (403); nobody else that
    # the object exists (404).
    expected = {"admin": 200, "supervisor1": 200, "inspector1": 403, "managerA": 403}
    assert response.status_code == expected.get(who, 404), response.get_data(as_text=True)[:300]
    if response.status_code == 200:
        assert response.mimetype == "application/pdf"
    else:
        assert response.mimetype == "application/problem+json"


#: The review queue: the supervisors' of their jurisdiction, admins' of all; others 403.
QUEUED = {
    "admin": {"INSP_A", "INSP_C"},
    "supervisor1": {"INSP_A"},
    "supervisor2": {"INSP_C"},
}


@pytest.mark.parametrize("who", ALL)
def test_the_review_queue_holds_the_callers_jurisdiction_only(client, auth_headers, world, who):
    response = client.get("/api/v1/review/queue", headers=auth_headers(world[who]))
    if who not in QUEUED:
        assert response.status_code == 403
        assert response.mimetype == "application/problem+json"
        return
    assert response.status_code == 200
    assert {e["id"] for e in response.get_json()} == {world[n].id for n in QUEUED[who]}


@pytest.mark.parametrize("who", ALL)
def test_a_decision_reaches_only_the_callers_jurisdiction(client, auth_headers, world, who):
    body = {"decision_id": str(uuid.uuid4()), "verdict": "approved", "inspection_version": 1}
    url = f"/api/v1/inspections/{world['INSP_A'].id}/decisions"
    response = client.post(url, json=body, headers=auth_headers(world[who]))
    expected = {"admin": 201, "supervisor1": 201, "supervisor2": 404}.get(who, 403)
    assert response.status_code == expected, response.get_json()
    status = Inspection.objects.get(id=world["INSP_A"].id).status
    assert status == ("approved" if expected == 201 else "submitted")
