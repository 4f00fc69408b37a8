"""What the phones of a confined space's people get through the feed besides the permit and
roster: the label keys, with which the app verifies a QR label offline (a rotation reaches
it, a retired key is marked), and the violations of the firm's spaces for its manager and the
jurisdiction's supervisors."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from server.clock import utcnow
from server.jobs.spaces import publish_label_keys
from server.models.label_key import LabelKeyRecord
from server.services.spaces import label_keys, labels
from server.services.spaces.label_sheets import label_keys as keys_of
from sync.client import Phone
from tests.spaces.site import make_site
from tests.sync.helpers import phone_for


def _phone(site, who: str) -> Phone:
    phone = phone_for(site.client, site.users[who], site.auth, device_id=f"phone-{who}-feed")
    phone.pull()
    return phone


def _offline_keys(phone: Phone) -> tuple[labels.LabelKey, ...]:
    """What the app verifies with: the keys it synced that are not retired."""
    return tuple(
        labels.LabelKey(Ed25519PublicKey.from_public_bytes(base64.b64decode(k["public_key"])))
        for k in phone.server.get("label_keys", {}).values()
        if k["retired_at"] is None
    )


@pytest.fixture
def site(client, world, auth_headers):
    site = make_site(client, world, auth_headers)
    site.auth = auth_headers
    return site


def test_the_workers_phone_verifies_a_label_offline_with_the_keys_it_synced(site, job_settings):
    assert publish_label_keys() == {"published": 1, "retired": 0}
    phone = _phone(site, "worker")
    (key,) = phone.server["label_keys"].values()
    assert key["signs"] is True and key["retired_at"] is None and key["algorithm"] == "Ed25519"
    label = labels.verify(site.token, _offline_keys(phone), space_id=site.space["id"])
    assert str(label.space_id) == site.space["id"]
    assert key["id"] == label.key_id.hex()
    # Nothing changed: publishing again writes nothing the feed would carry.
    rev = LabelKeyRecord._get_collection().find_one({"_id": key["id"]})["sync_rev"]
    assert publish_label_keys() == {"published": 0, "retired": 0}
    assert LabelKeyRecord._get_collection().find_one({"_id": key["id"]})["sync_rev"] == rev


@pytest.mark.parametrize("who", ["manager", "attendant", "admin"])
def test_those_who_scan_get_the_keys(site, job_settings, who):
    publish_label_keys()
    assert len(_phone(site, who).server.get("label_keys", {})) == 1


@pytest.mark.parametrize("who", ["supervisor", "inspector"])
def test_regulators_do_not_get_the_keys(site, job_settings, who):
    publish_label_keys()
    assert "label_keys" not in _phone(site, who).server


def test_a_rotation_reaches_the_phone_and_a_retired_key_refuses_its_labels(site, settings):
    old = keys_of(settings)
    label_keys.publish(old, now=utcnow())
    phone = _phone(site, "worker")
    new = labels.LabelKey(*(lambda k: (k.public_key(), k))(Ed25519PrivateKey.generate()))
    # The new key signs; the old one still verifies the labels already printed.
    assert label_keys.publish((new, *old), now=utcnow()) == {"published": 2, "retired": 0}
    phone.pull()
    synced = phone.server["label_keys"]
    assert synced[new.key_id.hex()]["signs"] is True
    assert synced[old[0].key_id.hex()]["signs"] is False
    labels.verify(site.token, _offline_keys(phone))  # printed with the old key: still good
    # The old key leaves the settings: retired, its labels refused offline too.
    assert label_keys.publish((new,), now=utcnow()) == {"published": 0, "retired": 1}
    phone.pull()
    assert phone.server["label_keys"][old[0].key_id.hex()]["retired_at"] is not None
    with pytest.raises(labels.LabelError) as refused:
        labels.verify(site.token, _offline_keys(phone))
    assert refused.value.code == labels.UNKNOWN_KEY
    # Named again: no longer retired.
    assert label_keys.publish((new, *old), now=utcnow())["published"] == 1
    phone.pull()
    assert phone.server["label_keys"][old[0].key_id.hex()]["retired_at"] is None


def test_a_denied_scan_reaches_the_managers_and_supervisors_phones_as_a_violation(site, jobs):
    denied = site.scan("enter").get_json()
    assert not denied["allowed"]
    jobs()  # the scan's outbox job records its violation
    seen = {who: _phone(site, who).server.get("violations", {}) for who in site.headers}
    (violation,) = seen["manager"].values()
    assert violation["kind"] == "no_permit" and violation["entry_event_id"] == denied["event_id"]
    assert violation["codes"] and violation["message"]["zh-CN"]
    assert list(seen["supervisor"]) == [violation["id"]]
    assert list(seen["admin"]) == [violation["id"]]
    for who in ("worker", "attendant", "contractor", "inspector", "supervisor2", "manager_b"):
        assert seen[who] == {}, who
