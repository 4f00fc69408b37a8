"""A phone offline beyond its token's lifetime resumes without losing its queue: its own
Ed25519 key, bound to its device at a password login, renews access by signing a one-time
challenge. Only a password login binds a key; a revoked device cannot renew; every refusal
looks the same."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.actor import Role
from server.models.device import Device
from server.models.jurisdiction import Jurisdiction
from server.models.token import AuthToken
from server.services import device_keys
from sync.client import Phone, WsgiTransport
from tests.factories import PASSWORD, EnterpriseFactory, JurisdictionFactory, regulator

DEVICE = "phone-key-000001"


@pytest.fixture
def inspector(db):
    return regulator(Role.INSPECTOR, JurisdictionFactory(), username="zhang")


def _login(client, **extra):
    body = {"username": "zhang", "password": PASSWORD, "device_id": DEVICE, **extra}
    return client.post("/api/v1/auth/token", json=body)


def _renew(client, key, device_id=DEVICE, challenge=None):
    issued = client.post("/api/v1/auth/renewal/challenge", json={"device_id": device_id})
    assert issued.status_code == 201
    challenge = challenge or issued.get_json()["challenge"]
    signed = issued.get_json()["signed_message"].encode()
    if challenge != issued.get_json()["challenge"]:
        signed = device_keys.signed_message(device_id, challenge)
    body = {
        "device_id": device_id,
        "challenge": challenge,
        "signature": base64.b64encode(key.sign(signed)).decode(),
    }
    return client.post("/api/v1/auth/renewal", json=body)


def test_a_phone_back_after_its_token_expired_pushes_its_queue_without_a_password(
    client, inspector, published
):
    key = Ed25519PrivateKey.generate()
    login = _login(client, device_key=device_keys.public_key_b64(key))
    assert login.status_code == 201
    device = Device.objects.get(device_id=DEVICE)
    assert device.key_id and device.user_id == inspector.id
    phone = Phone(
        WsgiTransport(client),
        token=login.get_json()["access_token"],
        device_id=DEVICE,
        device_signer=key.sign,
    )
    enterprise = EnterpriseFactory(jurisdiction_id=inspector.jurisdiction_id)
    for _ in range(3):  # work done offline for longer than the token lives
        phone.create_inspection(
            enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1, answers={}
        )
    AuthToken.objects(user_id=inspector.id).update(set__expires_at=device.registered_at)
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["applied"] * 3
    assert phone.renewals == 1 and not phone.outbox


def test_a_challenge_works_once_for_its_device_and_a_forgery_never(client, inspector):
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    assert _login(client, device_key=device_keys.public_key_b64(key)).status_code == 201
    renewed = _renew(client, key)
    assert renewed.status_code == 201
    assert renewed.get_json()["user"]["username"] == "zhang"
    forged = _renew(client, other)
    assert forged.status_code == 401
    refused = forged.get_json()
    assert refused["type"] == "/problems/unauthenticated"
    # The same challenge twice: the first use consumed it.
    issued = client.post("/api/v1/auth/renewal/challenge", json={"device_id": DEVICE})
    challenge = issued.get_json()["challenge"]
    signature = base64.b64encode(key.sign(device_keys.signed_message(DEVICE, challenge)))
    body = {"device_id": DEVICE, "challenge": challenge, "signature": signature.decode()}
    assert client.post("/api/v1/auth/renewal", json=body).status_code == 201
    replay = client.post("/api/v1/auth/renewal", json=body)
    assert (replay.status_code, replay.get_json()["detail"]) == (401, refused["detail"])
    # Another device's challenge does not open this one.
    other_device = client.post("/api/v1/auth/renewal/challenge", json={"device_id": "phone-x-0001"})
    stolen = other_device.get_json()["challenge"]
    signature = base64.b64encode(key.sign(device_keys.signed_message(DEVICE, stolen)))
    body = {"device_id": DEVICE, "challenge": stolen, "signature": signature.decode()}
    assert client.post("/api/v1/auth/renewal", json=body).status_code == 401


def test_only_a_password_login_binds_a_key_and_a_bound_key_stays(client, inspector):
    key, thief = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    token = _login(client).get_json()["access_token"]  # no key yet
    register = client.post(
        "/api/v1/devices",
        json={"device_id": DEVICE, "device_key": device_keys.public_key_b64(thief)},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert register.status_code == 422  # a bearer token alone cannot attach a key
    assert _renew(client, thief).status_code == 401
    assert _login(client, device_key=device_keys.public_key_b64(key)).status_code == 201
    again = _login(client, device_key=device_keys.public_key_b64(thief))
    assert again.status_code == 409
    assert again.get_json()["reasons"][0]["code"] == "DEVICE_KEY_DIFFERS"
    assert _renew(client, key).status_code == 201


def test_a_revoked_device_cannot_renew_and_its_tokens_die(client, inspector, auth_headers):
    key = Ed25519PrivateKey.generate()
    login = _login(client, device_key=device_keys.public_key_b64(key))
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    supervisor = regulator(Role.SUPERVISOR, inspector_jurisdiction(inspector))
    revoked = client.post(f"/api/v1/devices/{DEVICE}/revoke", headers=auth_headers(supervisor))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert _renew(client, key).status_code == 401
    outsider = regulator(Role.SUPERVISOR, JurisdictionFactory())
    hidden = client.post(f"/api/v1/devices/{DEVICE}/revoke", headers=auth_headers(outsider))
    assert hidden.status_code == 404


def inspector_jurisdiction(user):
    return Jurisdiction.objects.get(id=user.jurisdiction_id)
