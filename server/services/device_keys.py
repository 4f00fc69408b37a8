"""Device keys: a phone's own Ed25519 key, bound to its registered device at a password login,
with which it renews its access after a long time offline and (later) signs what it decides
offline.

Why a key and not a long-lived refresh token: the private key never leaves the phone (it is
generated there and kept in its keystore), so nothing the server stores or sends can be
replayed to renew access; and the same key is the device's identity for offline decisions.

- **Binding.** Only a login that proves the password binds a key (`bind_at_login`): a stolen
  bearer token cannot attach an attacker's key. A device keeps its key; a different one is a
  conflict until the device is revoked or released.
- **Renewal** (`issue_challenge`, `renew`): the server hands out a one-time random challenge
  for the device (valid `CHALLENGE_TTL`); the phone signs `CONTEXT`, its device id and the
  challenge; a valid signature from a device that is not revoked, of an active user, gets a
  new access token. No clock on the phone is trusted, so a phone whose clock drifted while
  offline renews all the same. A challenge is consumed by one atomic delete: used once.
- **Signatures** (`signed_by`): the one check of what a device signed, for renewals and for
  the entry decisions an attendant's phone makes offline (server.services.spaces.offline),
  each message under its own domain separator.
- **Revocation** (`revoke_device`): a lost phone's device is revoked by its user, their
  supervisor or an admin; its tokens are revoked with it and it can no longer renew.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from mongoengine.connection import get_db

from server.actor import Actor, Role
from server.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthenticated
from server.models.device import Device
from server.models.user import User
from server.services.audit import record
from server.services.auth import revoke_device_tokens

#: What a renewal signature covers, before the device id and the challenge: a domain
#: separator and format version, so the signature means nothing anywhere else.
CONTEXT = b"safety-device-renewal/1"
CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGES = "device_challenges"
KEY_BYTES = 32


def parse_public_key(text: str) -> bytes:
    """The 32 raw bytes of a base64 (or base64url) Ed25519 public key; RuleViolation if not."""
    try:
        raw = base64.urlsafe_b64decode(text.replace("+", "-").replace("/", "_") + "==")
        if len(raw) != KEY_BYTES:
            raise ValueError(len(raw))
        Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise RuleViolation(
            "device_key must be the base64 of a 32-byte Ed25519 public key",
            errors=[{"field": "device_key", "messages": ["32-byte Ed25519 public key, base64"]}],
        ) from None
    return raw


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def signed_message(device_id: str, challenge: str) -> bytes:
    """The bytes a phone signs to renew its access."""
    return b"\n".join((CONTEXT, device_id.encode(), challenge.encode()))


def sign_renewal(private_key: Ed25519PrivateKey, device_id: str, challenge: str) -> str:
    """What a phone sends as `signature` (the reference phone and tests use it)."""
    return base64.b64encode(private_key.sign(signed_message(device_id, challenge))).decode()


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def bind_at_login(user: User, device_id: str, key_text: str, *, now: datetime) -> Device:
    """Bind the phone's key to its device as the user logs in with their password; the device
    is registered to them on the way if it is not yet. Conflict when the device belongs to
    someone else or already has another key."""
    raw = parse_public_key(key_text)
    encoded = base64.b64encode(raw).decode()
    device = Device.objects(device_id=device_id).first()
    if device is not None and device.user_id != user.id:
        raise Conflict("this device is registered to another user; ask an admin to release it")
    if device is not None and device.revoked_at is not None:
        raise Forbidden("this device was revoked; an admin releases it before it is used again")
    if device is not None and device.public_key not in (None, encoded):
        raise Conflict(
            "this device has another key; revoke or release it to bind a new one",
            reasons=[{"code": "DEVICE_KEY_DIFFERS", "key_id": device.key_id}],
        )
    if device is None:
        Device(
            device_id=device_id,
            user_id=user.id,
            jurisdiction_id=user.jurisdiction_id,
            enterprise_id=user.enterprise_id,
            registered_at=now,
            last_seen_at=now,
        ).save()  # a concurrent first registration of the same id: unique, one wins
        device = Device.objects.get(device_id=device_id)
    if device.public_key is None:
        before = device.to_mongo().to_dict()
        bound = Device.objects(id=device.id, public_key=None).update_one(
            set__public_key=encoded, set__key_id=key_id(raw), set__key_bound_at=now
        )
        device.reload()
        if bound:
            record.record(
                user.actor(device_id=device_id),
                "device.bind_key",
                "device",
                device.id,
                before=before,
                after=device,
                now=now,
                chain=device.jurisdiction_id,
            )
        elif device.public_key != encoded:
            raise Conflict("this device got another key at the same moment; log in again")
    return device


def issue_challenge(device_id: str, *, now: datetime) -> tuple[str, datetime]:
    """A one-time challenge for the device to sign. Issued for any device id, so the answer
    says nothing about which devices exist."""
    challenge = secrets.token_urlsafe(32)
    expires = now + CHALLENGE_TTL
    get_db()[CHALLENGES].insert_one(
        {"_id": challenge, "device_id": device_id, "expires_at": expires}
    )
    return challenge, expires


def renew(device_id: str, challenge: str, signature: str, *, now: datetime) -> User:
    """The user whose device signed `challenge`; Unauthenticated for anything else (unknown,
    used or expired challenge, a challenge of another device, a bad signature, a revoked
    device, a disabled user) — one answer for all, nothing to probe."""
    refused = Unauthenticated("the device could not be authenticated; log in with a password")
    taken = get_db()[CHALLENGES].find_one_and_delete({"_id": challenge})
    if taken is None or taken["device_id"] != device_id or taken["expires_at"] <= now:
        raise refused
    device = Device.objects(device_id=device_id).first()
    if not signed_by(device, signed_message(device_id, challenge), signature):
        raise refused
    user = User.objects(id=device.user_id).first()
    if user is None or not user.active:
        raise refused
    return user


def signed_by(device: Device | None, message: bytes, signature: str) -> bool:
    """Whether `signature` (base64) over `message` is by the key bound to `device`, a device
    not revoked: the one check of a device's signature (renewals, offline decisions)."""
    if device is None or device.public_key is None or device.revoked_at is not None:
        return False
    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(device.public_key))
        public.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def revoke_device(actor: Actor, device_id: str, *, now: datetime) -> Device:
    """Revoke a (lost, stolen) device: its tokens die, it cannot renew, its key is void. Its
    user, a supervisor of its jurisdiction or an admin may; others do not see it (404)."""
    device = Device.objects.for_actor(actor).filter(device_id=device_id).first()
    if device is None:
        raise NotFound(f"device {device_id} not found")
    if actor.role is Role.WORKER and device.user_id != actor.user_id:
        raise Forbidden("only the device's user, a supervisor or an admin revokes it")
    before = device.to_mongo().to_dict()
    Device.objects(id=device.id, revoked_at=None).update_one(set__revoked_at=now)
    device.reload()
    if before.get("revoked_at") is None:
        record.record(
            actor,
            "device.revoke",
            "device",
            device.id,
            before=before,
            after=device,
            now=now,
            chain=device.jurisdiction_id,
        )
    revoke_device_tokens(device, actor=actor, now=now)
    return device


def purge_challenges(*, now: datetime) -> int:
    """Delete expired challenges (no TTL indexes on the embedded server): a periodic job."""
    ids = [
        c["_id"]
        for c in get_db()[CHALLENGES].find({"expires_at": {"$lt": now}}, {"_id": 1}).limit(5000)
    ]
    return get_db()[CHALLENGES].delete_many({"_id": {"$in": ids}}).deleted_count if ids else 0
