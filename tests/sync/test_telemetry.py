"""Device observability: clock offsets at every sync, and the devices a supervisor chases."""

from __future__ import annotations

from datetime import timedelta

from server.actor import Role
from server.clock import utcnow
from server.models.device import Device
from server.models.inspection import Inspection
from tests.factories import JurisdictionFactory, regulator
from tests.sync.helpers import make_world, phone_for


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
