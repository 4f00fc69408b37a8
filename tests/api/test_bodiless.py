"""Answers without a body (201 of a tus creation, every 204, 304) name no content type: Flask's
default `text/html` described nothing and made clients try to parse an empty page."""

from __future__ import annotations

import uuid

from server.actor import Role
from server.models.device import Device
from server.models.inspection import Inspection
from tests.factories import EnterpriseFactory, JurisdictionFactory, UserFactory, regulator
from tests.media import helpers as h


def _assert_bodiless(response, status: int) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_data() == b""
    assert "Content-Type" not in response.headers, (status, response.headers["Content-Type"])


def test_answers_without_a_body_have_no_content_type(client, auth_headers, db):
    jurisdiction = JurisdictionFactory()
    enterprise = EnterpriseFactory(jurisdiction_id=jurisdiction.id)
    inspector = regulator(Role.INSPECTOR, jurisdiction)
    headers = auth_headers(inspector)
    inspection = Inspection(
        id=str(uuid.uuid4()),
        checklist_code="CS",
        checklist_version=1,
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        inspector_id=inspector.id,
        device_id="plain-phone",
    ).save(force_insert=True)
    data = h.jpeg()
    meta = h.photo_metadata(data, inspection.id, kind="inspection")

    _assert_bodiless(client.options("/api/v1/uploads"), 204)
    created = h.create(client, headers, data, meta)
    _assert_bodiless(created, 201)
    _assert_bodiless(h.patch(client, headers, created.headers["Location"], 0, data), 204)
    again = h.create(client, headers, data, meta)
    _assert_bodiless(client.delete(again.headers["Location"], headers={**headers, **h.TUS}), 204)
    thumbnail = f"/api/v1/photos/{h.sha256(data)}/thumbnail"
    etag = client.get(thumbnail, headers=headers).headers["ETag"]
    _assert_bodiless(client.get(thumbnail, headers={**headers, "If-None-Match": etag}), 304)

    Device(device_id="plain-phone", user_id=inspector.id).save()
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    _assert_bodiless(client.delete("/api/v1/devices/plain-phone", headers=admin), 204)
    _assert_bodiless(client.delete("/api/v1/auth/token", headers=headers), 204)
