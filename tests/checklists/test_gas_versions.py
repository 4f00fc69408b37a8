"""The gas-test rules published as immutable numbered versions, served with ETags and synced
to phones (which decide confined-space entries offline with them)."""

from __future__ import annotations

import dataclasses

import pytest

from checklists import gas_versions
from checklists.loader import load_gas_limits
from checklists.versions import EditionConflict
from server.actor import Role
from server.clock import utcnow
from server.models.audit_event import AuditEvent
from server.models.gas_limits import GasLimitsVersion
from tests.factories import JurisdictionFactory, UserFactory, regulator
from tests.sync.helpers import phone_for


@pytest.fixture
def published(db):
    return gas_versions.publish_editions(gas_versions.load_gas_editions(), now=utcnow())


def test_the_shipped_file_is_edition_one_with_its_changelog():
    limits = load_gas_limits()
    assert limits.edition == 1
    assert "params.CO2" in limits.changelog[0].items
    assert limits.document["edition"] == 1 and "regimes" in limits.document


def test_publishing_is_idempotent_and_audited(published, jobs):
    assert (published.version, published.created) == (1, True)
    stored = GasLimitsVersion.objects.get(id=1)
    assert stored.content_hash == load_gas_limits().content_hash()
    assert stored.content["regimes"].keys() == load_gas_limits().document["regimes"].keys()
    again = gas_versions.publish_editions(gas_versions.load_gas_editions(), now=utcnow())
    assert (again.version, again.created) == (1, False)
    assert GasLimitsVersion.objects.count() == 1
    jobs()
    assert AuditEvent.objects(action="gas_limits.publish").count() == 1


def test_a_published_version_never_changes(published):
    changed = dict(load_gas_limits().document, default_regime="GB30871_HC")
    limits = dataclasses.replace(load_gas_limits(), document=changed)
    with pytest.raises(EditionConflict, match="next edition"):
        gas_versions.publish(limits, now=utcnow())
    skipping = dataclasses.replace(limits, edition=3)
    with pytest.raises(EditionConflict, match="version 2, which is not published"):
        gas_versions.publish(skipping, now=utcnow())
    # The next edition is published beside the first, which phones keep.
    second = gas_versions.publish(dataclasses.replace(limits, edition=2), now=utcnow())
    assert second.created and gas_versions.find().id == 2
    assert gas_versions.find(1).content_hash == load_gas_limits().content_hash()


def test_the_api_serves_them_cacheably_in_both_locales(client, auth_headers, published):
    admin_headers = auth_headers(UserFactory(role=Role.ADMIN.value))
    newest = client.get("/api/v1/gas-limits", headers=admin_headers)
    assert newest.status_code == 200
    body = newest.get_json()
    assert body["version"] == 1 and body["content"]["params"]["H2S"]["unit"] == "mg/m3"
    assert body["changelog"][0]["what"].startswith("首版")
    en = client.get("/api/v1/gas-limits", headers={**admin_headers, "Accept-Language": "en"})
    assert en.get_json()["changelog"][0]["what"].startswith("First edition")
    etag = newest.headers["ETag"]
    again = client.get("/api/v1/gas-limits", headers={**admin_headers, "If-None-Match": etag})
    assert again.status_code == 304
    one = client.get("/api/v1/gas-limits/versions/1", headers=admin_headers)
    assert one.status_code == 200 and "immutable" in one.headers["Cache-Control"]
    for missing in ("2", "abc", "١"):
        response = client.get(f"/api/v1/gas-limits/versions/{missing}", headers=admin_headers)
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/gas-limits").status_code == 401


def test_phones_receive_every_version_through_the_feed(client, auth_headers, published):
    inspector = regulator(Role.INSPECTOR, JurisdictionFactory())
    phone = phone_for(client, inspector, auth_headers, device_id="gas-phone-1")
    phone.pull()
    [version] = phone.server["gas_limit_versions"].values()
    assert version["content_hash"] == load_gas_limits().content_hash()
    assert version["content"]["minimum_set"]["params"]
