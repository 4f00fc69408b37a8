"""Device observability: clock offsets at every sync, and the devices a supervisor chases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from checklists.versions import pinned_template
from server.actor import Role
from server.clock import utcnow
from server.models.device import Device
from server.models.inspection import Inspection
from tests.factories import JurisdictionFactory, regulator
from tests.sync.helpers import make_world, passing_answers, phone_for


def test_pull_and_push_record_reports_and_clock_offset(client, auth_headers, published):
    _j, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="skewed-phone")
    phone.clock = lambda: utcnow() + timedelta(hours=2)  # the phone's clock is two hours fast
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
    )
    phone.push()
    stored = Inspection.objects.get(id=inspection_id)
    assert stored.clock_skewed is True and 7190 < stored.clock_offset_s < 7210
    phone.outbox = []
    body = {
        "device_id": "skewed-phone",
        "device_time": phone.clock().isoformat(),
        "pending_mutations": 3,
        "pending_photo_bytes": 5_000_000,
        "oldest_unsynced_at": (utcnow() - timedelta(hours=30)).isoformat(),
        "mutations": [],
    }
    response = client.post(
        "/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {phone.token}"}
    )
    assert response.status_code == 200
    assert 7190 < response.get_json()["clock_offset_s"] < 7210
    device = Device.objects.get(device_id="skewed-phone")
    assert device.clock_skewed is True
    assert device.pending_mutations == 3 and device.pending_photo_bytes == 5_000_000
    phone.pull()
    device.reload()
    assert device.last_pull_at is not None and device.cursor_seq > 0


def test_a_count_past_what_mongodb_stores_is_refused(client, auth_headers, published):
    # A fuzzed pending_photo_bytes of 1.7×10²¹ reached MongoDB as an integer it cannot hold
    # (a 500); every count a phone reports fits 64 bits.
    _j, _enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="counting-phone")
    headers = {"Authorization": f"Bearer {phone.token}"}
    query = {"device_id": "counting-phone", "pending_photo_bytes": 2**63}
    pulled = client.get("/api/v1/sync/pull", query_string=query, headers=headers)
    pushed = client.post(
        "/api/v1/sync/push",
        json={"device_id": "counting-phone", "pending_mutations": 2**63, "mutations": []},
        headers=headers,
    )
    assert [pulled.status_code, pushed.status_code] == [422, 422]
    assert pulled.get_json()["errors"][0]["field"] == "pending_photo_bytes"
    assert pushed.get_json()["errors"][0]["field"] == "pending_mutations"


def test_a_device_time_without_an_instant_in_utc_is_refused(client, auth_headers, published):
    # A fuzzed "0001-01-01T00:01:01+10:16" is in year 0 in UTC, which MongoDB cannot be sent
    # (a 500): the report answers 422, a mutation's data a rejected receipt.
    _j, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="ancient-phone")
    headers = {"Authorization": f"Bearer {phone.token}"}
    early = "0001-01-01T00:01:01+10:16"
    pulled = client.get(
        "/api/v1/sync/pull",
        query_string={"device_id": "ancient-phone", "device_time": early},
        headers=headers,
    )
    assert pulled.status_code == 422
    assert pulled.get_json()["errors"][0]["field"] == "device_time"
    data = {
        "checklist_code": "CS",
        "checklist_version": 1,
        "enterprise_id": str(enterprise.id),
        "started_at_device": early,
    }
    mutation = {
        "mutation_id": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "collection": "inspections",
        "op": "create",
        "id": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "data": data,
    }
    pushed = client.post(
        "/api/v1/sync/push",
        json={"device_id": "ancient-phone", "oldest_unsynced_at": early, "mutations": []},
        headers=headers,
    )
    assert pushed.status_code == 422
    assert pushed.get_json()["errors"][0]["field"] == "oldest_unsynced_at"
    pushed = client.post(
        "/api/v1/sync/push",
        json={"device_id": "ancient-phone", "mutations": [mutation]},
        headers=headers,
    )
    [receipt] = pushed.get_json()["receipts"]
    assert receipt["status"] == "rejected"
    assert receipt["problem"]["errors"][0]["field"] == "data.started_at_device"


def test_supervisor_lists_devices_holding_or_stalled_with_unsynced_work(client, auth_headers, db):
    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    now = utcnow()
    fresh, stalled, idle = (regulator(Role.INSPECTOR, j1) for _ in range(3))
    elsewhere = regulator(Role.INSPECTOR, j2)
    Device(
        device_id="fresh-phone",
        user_id=fresh.id,
        jurisdiction_id=j1.id,
        pending_mutations=2,
        last_push_at=now,
    ).save()
    Device(
        device_id="stalled-phone",
        user_id=stalled.id,
        jurisdiction_id=j1.id,
        pending_mutations=9,
        last_push_at=now - timedelta(hours=8),
    ).save()
    Device(
        device_id="idle-phone",
        user_id=idle.id,
        jurisdiction_id=j1.id,
        pending_mutations=0,
        last_pull_at=now,
    ).save()
    Device(
        device_id="other-phone", user_id=elsewhere.id, jurisdiction_id=j2.id, pending_mutations=4
    ).save()
    headers = auth_headers(regulator(Role.SUPERVISOR, j1))
    unsynced = client.get("/api/v1/sync/devices", headers=headers).get_json()
    assert {d["device_id"] for d in unsynced} == {"fresh-phone", "stalled-phone"}
    stalled_only = client.get("/api/v1/sync/devices?state=stalled", headers=headers).get_json()
    assert [d["device_id"] for d in stalled_only] == ["stalled-phone"]
    assert stalled_only[0]["stalled"] is True
    inspector = client.get("/api/v1/sync/devices", headers=auth_headers(fresh))
    assert inspector.status_code == 403


def test_device_times_are_stored_as_instants_with_the_phones_utc_offset(
    client, auth_headers, published
):
    _j, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="beijing-phone")
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        answers=passing_answers(pinned_template("CS", 1)),
        started_at_device="2026-12-01T17:00:00+08:00",
        device_time="2026-12-01T17:05:00+08:00",
    )
    phone.submit(inspection_id, submitted_at_device="2026-12-01T19:30:00+05:45")
    assert [r["status"] for r in phone.push()] == ["applied", "applied"]
    stored = Inspection._get_collection().find_one({"_id": inspection_id})
    assert stored["started_at_device"] == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert stored["device_time"] == datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    assert stored["submitted_at_device"] == datetime(2026, 12, 1, 13, 45, tzinfo=UTC)
    assert (
        stored["started_at_device_offset_min"],
        stored["device_time_offset_min"],
        stored["submitted_at_device_offset_min"],
    ) == (480, 480, 345)
    phone.pull()
    on_phone = phone.server["inspections"][inspection_id]
    assert on_phone["started_at_device"] == "2026-12-01T09:00:00.000Z"
    assert on_phone["started_at_device_offset_min"] == 480


def test_a_devices_report_keeps_its_utc_offsets(client, auth_headers, db):
    jurisdiction = JurisdictionFactory()
    inspector = regulator(Role.INSPECTOR, jurisdiction)
    phone = phone_for(client, inspector, auth_headers, device_id="field-phone")
    device_time = (utcnow() + timedelta(hours=8)).replace(tzinfo=timezone(timedelta(hours=8)))
    body = {
        "device_id": "field-phone",
        "device_time": device_time.isoformat(),
        "pending_mutations": 2,
        "oldest_unsynced_at": "2026-11-30T08:00:00-03:30",
        "mutations": [],
    }
    response = client.post(
        "/api/v1/sync/push", json=body, headers={"Authorization": f"Bearer {phone.token}"}
    )
    assert response.status_code == 200
    device = Device._get_collection().find_one({"device_id": "field-phone"})
    assert device["oldest_unsynced_at"] == datetime(2026, 11, 30, 11, 30, tzinfo=UTC)
    assert device["oldest_unsynced_at_offset_min"] == -210
    assert device["device_time_offset_min"] == 480
    assert abs((device["device_time"] - device["last_seen_at"]).total_seconds()) < 5
    listed = client.get(
        "/api/v1/sync/devices", headers=auth_headers(regulator(Role.SUPERVISOR, jurisdiction))
    ).get_json()
    assert listed[0]["oldest_unsynced_at"] == "2026-11-30T11:30:00.000Z"
    assert listed[0]["oldest_unsynced_at_offset_min"] == -210
    assert listed[0]["device_time_offset_min"] == 480
