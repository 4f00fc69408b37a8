"""Every wired use case appends its audit event, through the API and the outbox job on a real
worker: who (user, role, device), what, in which chain, with which request id, and digests of
the states that match what is stored."""

from __future__ import annotations

import pytest

from media import links
from server.actor import Role
from server.models.enterprise import Enterprise
from server.models.token import AuthToken
from server.models.user import User
from server.services.audit import event
from tests.audit.helpers import stored
from tests.factories import PASSWORD, JurisdictionFactory, UserFactory, credit_code, regulator
from tests.media import helpers as media

PHONE = "phone-audit-0001"
REQUEST = {"X-Request-ID": "req-audit-000001"}


@pytest.fixture
def j(db):
    return JurisdictionFactory()


@pytest.fixture
def admin(db):
    return UserFactory(role=Role.ADMIN.value)


def only(db, chain, action) -> dict:
    [found] = [e for e in stored(db, str(chain)) if e["action"] == action]
    return found


def test_creating_a_user_appends_user_create_in_their_jurisdiction(
    client, db, jobs, j, admin, auth_headers
):
    response = client.post(
        "/api/v1/users",
        json={
            "username": "li.jiancha",
            "password": "long-enough-1",
            "display_name": "李检查",
            "role": "inspector",
            "jurisdiction_id": str(j.id),
        },
        headers={**auth_headers(admin, device_id=PHONE), **REQUEST},
    )
    assert response.status_code == 201
    jobs()
    created = User.objects.get(username="li.jiancha")
    e = only(db, j.id, "user.create")
    assert e["object"] == {"kind": "user", "id": str(created.id)}
    assert e["actor"] == {"user_id": str(admin.id), "role": "admin", "device_id": PHONE}
    assert e["request_id"] == REQUEST["X-Request-ID"]
    assert (e["before"], e["after"]) == (None, event.digest(created))
    assert e["after"] == event.digest(db["users"].find_one({"_id": created.id}))


def test_log_in_and_out_append_token_issue_and_revoke(client, db, jobs, j):
    user = regulator(Role.INSPECTOR, j, username="zhang")
    login = client.post(
        "/api/v1/auth/token",
        json={"username": "zhang", "password": PASSWORD, "device_id": PHONE},
        headers=REQUEST,
    )
    assert login.status_code == 201
    bearer = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    assert client.delete("/api/v1/auth/token", headers=bearer).status_code == 204
    jobs()
    token = AuthToken.objects.get(user_id=user.id)
    issued, revoked = (only(db, j.id, a) for a in ("token.issue", "token.revoke"))
    for e in (issued, revoked):
        assert e["object"] == {"kind": "token", "id": str(token.id)}
        assert e["actor"] == {"user_id": str(user.id), "role": "inspector", "device_id": PHONE}
    assert issued["request_id"] == REQUEST["X-Request-ID"]
    assert revoked["request_id"] not in (None, REQUEST["X-Request-ID"])  # its own request
    assert issued["after"] == revoked["before"] != revoked["after"] == event.digest(token)
    assert [e["action"] for e in stored(db, str(j.id))] == ["token.issue", "token.revoke"]


def test_disabling_a_user_appends_the_update_and_each_token_revoked(
    client, db, jobs, j, admin, auth_headers
):
    user = regulator(Role.INSPECTOR, j)
    auth_headers(user)
    auth_headers(user)
    headers = auth_headers(admin)
    url = f"/api/v1/users/{user.id}"
    etag = client.get(url, headers=headers).headers["ETag"]
    response = client.patch(url, json={"active": False}, headers={**headers, "If-Match": etag})
    assert response.status_code == 200
    jobs()
    actions = [e["action"] for e in stored(db, str(j.id))]
    assert actions == ["user.update", "token.revoke", "token.revoke"]
    update = only(db, j.id, "user.update")
    assert update["before"] == event.digest(user)
    assert update["after"] == event.digest(User.objects.get(id=user.id))


def test_registering_a_device_appends_device_register_once(client, db, jobs, j, auth_headers):
    user = regulator(Role.INSPECTOR, j)
    headers = auth_headers(user)
    body = {"device_id": PHONE, "platform": "android", "model": "Redmi Note 12"}
    assert client.post("/api/v1/devices", json=body, headers=headers).status_code == 201
    assert client.post("/api/v1/devices", json=body, headers=headers).status_code == 200
    upgraded = {**body, "app_version": "2.1.0"}
    assert client.post("/api/v1/devices", json=upgraded, headers=headers).status_code == 200
    jobs()
    assert [e["action"] for e in stored(db, str(j.id))] == ["device.register", "device.update"]
    registered = only(db, j.id, "device.register")
    assert registered["actor"]["user_id"] == str(user.id)
    assert registered["object"]["kind"] == "device"


def test_creating_and_updating_an_enterprise_append_their_events(
    client, db, jobs, j, admin, auth_headers
):
    headers = auth_headers(admin)
    body = {
        "name": "上海某机械有限公司",
        "credit_code": credit_code(77),
        "industry": "机械",
        "address": "上海市浦东新区",
        "jurisdiction_id": str(j.id),
    }
    created = client.post("/api/v1/enterprises", json=body, headers=headers)
    assert created.status_code == 201
    url = f"/api/v1/enterprises/{created.get_json()['id']}"
    before = Enterprise.objects.get(id=created.get_json()["id"])
    etag = client.get(url, headers=headers).headers["ETag"]
    changed = client.patch(url, json={"name": "新名"}, headers={**headers, "If-Match": etag})
    assert changed.status_code == 200
    jobs()
    create, update = (only(db, j.id, a) for a in ("enterprise.create", "enterprise.update"))
    assert create["after"] == update["before"] == event.digest(before)
    assert update["after"] == event.digest(Enterprise.objects.get(id=before.id))
    assert create["object"] == update["object"] == {"kind": "enterprise", "id": str(before.id)}


def test_publishing_checklists_appends_one_event_per_version_in_the_system_chain(
    client, db, jobs, admin, auth_headers
):
    headers = auth_headers(admin)
    assert client.post("/api/v1/checklists/publish", headers=headers).status_code == 200
    assert client.post("/api/v1/checklists/publish", headers=headers).status_code == 200
    jobs()
    events = stored(db, "system")
    assert [(e["action"], e["object"]["id"]) for e in events] == [
        ("checklist.publish", f"{code}:{n}") for code in ("CS", "FH", "HW", "OC") for n in (1, 2)
    ]
    assert {e["actor"]["user_id"] for e in events} == {str(admin.id)}
    cs = db["checklist_versions"].find_one({"_id": "CS:1"})
    assert events[0]["after"] == event.digest(cs)


@pytest.fixture
def hazards(j):
    links.register_link_kind("finding", lambda actor, link_id: actor.jurisdiction_id == j.id)
    yield
    links.unregister_link_kind("finding")


def test_a_photo_arrival_appends_photo_arrive_naming_its_sha256(
    client, db, jobs, j, hazards, auth_headers
):
    inspector = regulator(Role.INSPECTOR, j)
    data = media.jpeg()
    meta = media.photo_metadata(data, device_time="2026-05-01T10:00:00+08:00")
    headers = {**auth_headers(inspector, device_id=PHONE), **REQUEST}
    assert media.upload(client, headers, data, meta=meta).status_code == 204
    jobs()
    e = only(db, j.id, "photo.arrive")
    sha = media.sha256(data)
    assert e["photos"] == [sha]
    (context,) = db["photo_contexts"].find({"photo": sha})
    assert e["object"] == {"kind": "photo_context", "id": context["_id"]}
    assert e["actor"] == {"user_id": str(inspector.id), "role": "inspector", "device_id": PHONE}
    assert e["device_time"].isoformat() == "2026-05-01T02:00:00+00:00"
    assert e["after"] == event.digest(context)


def test_creating_a_jurisdiction_starts_its_chain_and_releasing_a_device_is_audited(
    client, db, jobs, admin, auth_headers
):
    headers = auth_headers(admin)
    created = client.post(
        "/api/v1/jurisdictions", json={"code": "310115", "name": "浦东新区"}, headers=headers
    )
    assert created.status_code == 201
    jurisdiction_id = created.get_json()["id"]
    inspector = UserFactory(role=Role.INSPECTOR.value, jurisdiction_id=jurisdiction_id)
    body = {"device_id": PHONE}
    assert (
        client.post("/api/v1/devices", json=body, headers=auth_headers(inspector)).status_code
        == 201
    )
    assert client.delete(f"/api/v1/devices/{PHONE}", headers=headers).status_code == 204
    jobs()
    assert [(e["n"], e["action"]) for e in stored(db, jurisdiction_id)] == [
        (1, "jurisdiction.create"),
        (2, "device.register"),
        (3, "device.release"),
    ]
    released = only(db, jurisdiction_id, "device.release")
    assert released["actor"]["user_id"] == str(admin.id)
    assert released["after"] is None
    assert released["before"] == only(db, jurisdiction_id, "device.register")["after"]
