"""Entry permits over the API and by push: who makes and approves them, their states, the
append-only records of four people offline, who sees them, and what the rules read of them."""

from __future__ import annotations

import uuid

import pytest

from server.models.audit_event import AuditEvent
from server.models.device import Device
from server.models.permit import PermitRecord
from server.services.spaces import permits
from tests.spaces.site import READINGS, make_site
from tests.sync.helpers import phone_for


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def test_the_manager_makes_a_draft_and_approves_it_as_principal(site, jobs):
    permit = site.make_permit()
    assert permit["status"] == "draft"
    assert permit["regime"] == "industrial"
    assert permit["entrant_ids"] == [site.id("worker"), site.id("contractor")]
    assert permit["entrants"][1]["employer"] == "某清淤公司"
    response = site.transition("approve", capacity="principal")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["status"], body["approver_capacity"], body["version"]) == (
        "approved",
        "principal",
        2,
    )
    assert body["history"][0]["from"] == "draft" and body["history"][0]["to"] == "approved"
    jobs()
    actions = [e.action for e in AuditEvent.objects(object__id=permit["id"])]
    assert actions == ["permit.create", "permit.approve"]


def test_a_delegate_names_the_written_delegation(site):
    site.make_permit()
    response = site.transition("approve", capacity="delegate")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "delegation_ref"
    assert (
        site.transition("approve", capacity="delegate", delegation_ref="委托书 2026-07").status_code
        == 200
    )
    doc = permits.read(site.world["users"]["admin"].actor(), site.permit["id"])
    assert permits.facts(doc, []).approved_by_principal
    other = site.make_permit()
    site.permit = other
    site.transition("approve", capacity="other")
    doc = permits.read(site.world["users"]["admin"].actor(), other["id"])
    assert not permits.facts(doc, []).approved_by_principal


def test_transitions_are_the_managers_on_the_current_version_from_their_states(site):
    site.make_permit()
    assert site.transition("approve", who="worker", capacity="principal").status_code == 403
    assert site.transition("approve", who="manager_b", capacity="principal").status_code == 404
    assert site.transition("resume").status_code == 422  # a draft is not suspended
    stale = site.permit["version"]
    assert site.transition("approve", capacity="principal").status_code == 200
    url = f"/api/v1/permits/{site.permit['id']}/transitions"
    again = site.post(url, {"action": "suspend", "version": stale})
    assert again.status_code == 409
    assert again.get_json()["type"] == "/problems/conflict"
    for action, status in (("suspend", "suspended"), ("resume", "active"), ("close", "closed")):
        assert site.transition(action).get_json()["status"] == status
    assert site.record("briefing", "manager").status_code == 422  # closed: nothing more


def test_a_permit_names_real_people_and_attendants_of_its_enterprise(site):
    stranger = site.id("manager_b")  # of enterprise B
    response = site.post("/api/v1/permits", site.permit_body(attendants=[stranger]))
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "attendants"
    both = site.permit_body(attendants=[site.id("worker")])
    assert site.post("/api/v1/permits", both).status_code == 422
    # One body's own times swapped: two bodies made a millisecond apart would leave a window.
    body = site.permit_body()
    backwards = {**body, "valid_from": body["valid_to"], "valid_to": body["valid_from"]}
    assert site.post("/api/v1/permits", backwards).status_code == 422
    assert site.post("/api/v1/permits", site.permit_body(), "worker").status_code == 403
    assert site.post("/api/v1/permits", site.permit_body(), "manager_b").status_code == 404


def test_records_are_appended_never_changed_and_read_back_in_order(site):
    site.make_permit()
    assert site.record("ventilation_start", "attendant", minutes_ago=10).status_code == 201
    test = {"instrument": "MSA #1", "readings": READINGS, "location": "中部"}
    response = site.record("gas_test", "worker", **test)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["by"] == site.id("worker")
    assert site.record("gas_test", "worker").status_code == 422  # a test carries readings
    odd = {"readings": {"O2": {"value": 20, "unit": "furlongs"}}}
    assert site.record("monitoring", "worker", **odd).status_code == 422
    assert site.record("briefing", "supervisor").status_code == 403
    listed = site.client.get(
        f"/api/v1/permits/{site.permit['id']}/records", headers=site.headers["supervisor"]
    ).get_json()
    assert [r["kind"] for r in listed] == ["ventilation_start", "gas_test"]
    facts = permits.facts(
        site.permit | {"_id": site.permit["id"]}, permits.records_of(site.permit["id"])
    )
    assert facts.records[1].readings["CO"].unit == "mg/m3"


@pytest.mark.parametrize(
    "who,sees",
    [
        ("admin", True),
        ("supervisor", True),
        ("manager", True),
        ("worker", True),
        ("inspector", False),
        ("supervisor2", False),
        ("manager_b", False),
    ],
)
def test_who_sees_a_permit(site, who, sees):
    site.make_permit()
    one = site.client.get(f"/api/v1/permits/{site.permit['id']}", headers=site.headers[who])
    assert one.status_code == (200 if sees else 404)
    listed = site.client.get("/api/v1/permits", headers=site.headers[who]).get_json()
    assert [p["id"] for p in listed] == ([site.permit["id"]] if sees else [])


def test_four_people_fill_in_a_permit_offline_and_it_reaches_the_attendants_phone(
    site, client, auth_headers, world
):
    users = site.users
    manager = phone_for(client, users["manager"], auth_headers, device_id="mgr-phone")
    permit_id = str(uuid.uuid4())
    body = site.permit_body()
    receipts = _push(
        client,
        auth_headers,
        users["manager"],
        "mgr-phone",
        [
            _mutation("permits", "create", permit_id, body),
        ],
    )
    assert receipts[0]["status"] == "applied", receipts
    site.permit = {"id": permit_id, "version": 1}
    site.transition("approve", capacity="principal")
    # Three phones record offline, then sync in any order: nothing conflicts.
    mutations = {
        "attendant": [("unlock", {}), ("ppe", {}), ("rescue_kit", {}), ("ventilation_start", {})],
        "worker": [("gas_test", {"instrument": "MSA #2", "readings": READINGS})],
        "manager": [("briefing", {}), ("isolation", {})],
    }
    for who, records in mutations.items():
        device = "mgr-phone" if who == "manager" else f"{who}-phone"
        if who != "manager":
            Device(
                device_id=device,
                user_id=users[who].id,
                jurisdiction_id=users[who].jurisdiction_id,
                enterprise_id=users[who].enterprise_id,
            ).save()
        batch = [
            _mutation(
                "permit_records",
                "create",
                str(uuid.uuid4()),
                {"permit_id": permit_id, "kind": kind, "at": "2026-12-01T08:00:00+08:00", **data},
            )
            for kind, data in records
        ]
        assert {r["status"] for r in _push(client, auth_headers, users[who], device, batch)} == {
            "applied"
        }
    assert PermitRecord.objects(permit_id=permit_id).count() == 7
    # An approved permit is not edited by a push any more; a record is never edited.
    edit = _mutation("permits", "update", permit_id, {"work": "别的"}, base_version=2)
    (refused,) = _push(client, auth_headers, users["manager"], "mgr-phone", [edit])
    assert refused["status"] != "applied"
    attendant = phone_for(client, users["attendant"], auth_headers, device_id="att-phone-2")
    attendant.pull()
    assert permit_id in attendant.server["permits"]
    assert len(attendant.server["permit_records"]) == 7
    stranger = phone_for(client, users["manager_b"], auth_headers, device_id="firm-b-phone")
    stranger.pull()
    assert not stranger.server.get("permits")
    del manager


def _mutation(collection, op, doc_id, data, base_version=None):
    m = {"mutation_id": str(uuid.uuid4()), "collection": collection, "op": op, "id": doc_id}
    m["data"] = data
    if base_version is not None:
        m["base_version"] = base_version
    return m


def _push(client, auth_headers, user, device_id, mutations):
    headers = auth_headers(user, device_id=device_id)
    body = {"device_id": device_id, "mutations": mutations}
    answer = client.post("/api/v1/sync/push", json=body, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["receipts"]
