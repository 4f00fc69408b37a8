"""Entry decisions an attendant's phone made offline: what the phone signs, and the intake of
a pushed decision (its signature, its device's number, its permit and people).

The phone decides with the pure rules (server.services.spaces.entry_rules) on the permit, its
records, the roster and the gas limits it synced, then signs the decision with the key bound
to its device at login (server.services.device_keys: one key, one check, for renewals and
for this) over `signed_bytes`: a domain separator and the canonical JSON of every field that
makes the decision (sorted keys, no spaces, UTF-8; ids as hex, the device time as whole
milliseconds since the Unix epoch, the reasons in the phone's order). Refused with a rejected
receipt: no signature, a wrong one, one by another device's key (the device id is signed and
must be the pushing device's), a number its device has used for another decision (Ed25519
signatures are deterministic: the same decision signed again is the same signature, a
replay the push answers as a duplicate, also under a new id: `stored_as`; one decision per
device and number is a unique index).

The merge into the roster and the re-check are server.services.spaces.offline_merge.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.actor import Actor, Role
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.models.device import Device
from server.models.entry_decision import EntryDecision
from server.models.permit import Permit
from server.services import device_keys

#: What a decision's signature covers before the fields: it means nothing anywhere else.
CONTEXT = b"safety-offline-entry-decision/1\n"
#: The fields signed, in the data a phone pushes (`signature` is over them).
SIGNED = (
    "device_id",
    "device_seq",
    "space_id",
    "permit_id",
    "worker_id",
    "action",
    "allowed",
    "reasons",
    "gas_limits_version",
    "device_time",
    "synced_through",
)


def canonical(data: dict) -> dict:
    """The signed fields as plain JSON values (see the module docstring)."""
    out = {}
    for name in SIGNED:
        value = data.get(name)
        if isinstance(value, ObjectId):
            value = str(value)
        elif isinstance(value, datetime):
            value = _millis(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    return out


def signed_bytes(data: dict) -> bytes:
    """The bytes a phone signs for one decision."""
    text = json.dumps(canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return CONTEXT + text.encode("utf-8")


def sign(private_key: Ed25519PrivateKey, data: dict) -> str:
    """What a phone sends as `signature` (the reference phone and the tests use it)."""
    return base64.b64encode(private_key.sign(signed_bytes(data))).decode()


def new_decision(
    actor: Actor,
    device_id: str,
    data: dict,
    *,
    synced_seq: int | None,
    synced_at: datetime | None,
) -> dict:
    """The fields of a pushed offline decision (the caller inserts it); a DomainError when it
    is not signed by this device's key, reuses a number, or names what the caller may not
    decide on. `synced_seq`/`synced_at`: the feed position the reported cursor stands for."""
    if data["device_id"] != device_id:
        raise Forbidden(
            "the decision was made on another device; that device pushes it",
            reasons=[{"code": "OTHER_DEVICE"}],
        )
    device = Device.objects(device_id=device_id).first()
    if not device_keys.signed_by(device, signed_bytes(data), data["signature"]):
        raise Forbidden(
            "the decision is not signed by this device's key",
            reasons=[{"code": "BAD_SIGNATURE", "key_id": device.key_id if device else None}],
        )
    permit = Permit._get_collection().find_one({"_id": data["permit_id"]})
    if not Permit.audience.allows(actor, permit):
        raise NotFound(f"permit {data['permit_id']} not found")
    if permit["space_id"] != ObjectId(data["space_id"]):
        raise RuleViolation(
            "the permit is for another space", reasons=[{"code": "PERMIT_OF_ANOTHER_SPACE"}]
        )
    _authorise(actor, permit)
    used = EntryDecision._get_collection().find_one(
        {"device_id": device_id, "device_seq": data["device_seq"]}, {"signature": 1}
    )
    # The same signed decision again is a replay: the push answers it by its id as a duplicate.
    if used is not None and used["signature"] != data["signature"]:
        raise Conflict(
            f"this device's decision number {data['device_seq']} is taken by another decision",
            reasons=[{"code": "SEQUENCE_USED", "decision_id": used["_id"]}],
        )
    return {
        "space_id": permit["space_id"],
        "enterprise_id": permit["enterprise_id"],
        "jurisdiction_id": permit["jurisdiction_id"],
        "permit_id": permit["_id"],
        "worker_id": ObjectId(data["worker_id"]),
        "by": actor.user_id,
        "action": data["action"],
        "allowed": data["allowed"],
        "reasons": list(data["reasons"]),
        "gas_limits_version": data["gas_limits_version"],
        "device_seq": data["device_seq"],
        "device_time": data["device_time"],
        "synced_through": data.get("synced_through"),
        "synced_seq": synced_seq,
        "synced_at": synced_at,
        "signature": data["signature"],
        "key_id": device.key_id,
        "merge_state": "pending",
        "flags": [],
        "flagged": False,
    }


def stored_as(actor: Actor, device_id: str, data: dict) -> dict | None:
    """The decision already stored that `data` is, whatever id it was pushed under: the same
    device, number and signature (None: none, or one the actor may not see)."""
    if data.get("device_id") != device_id:
        return None
    found = EntryDecision._get_collection().find_one(
        {"device_id": device_id, "device_seq": data["device_seq"]}
    )
    if found is None or found["signature"] != data["signature"]:
        return None
    return found if EntryDecision.audience.allows(actor, found) else None


def _authorise(actor: Actor, permit: dict) -> None:
    """The permit's attendants decide at the entrance (GB30871 6.8c: the attendant registers
    who goes in); the enterprise's manager and admins too."""
    if actor.is_admin or actor.user_id in (permit.get("attendants") or ()):
        return
    if actor.role is Role.ENTERPRISE_MANAGER and actor.enterprise_id == permit["enterprise_id"]:
        return
    raise Forbidden("only an attendant of the permit or its manager decides entries offline")


def _millis(moment: datetime) -> int:
    """Whole milliseconds since the Unix epoch (floored), in integer arithmetic."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
