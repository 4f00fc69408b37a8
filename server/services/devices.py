"""Device registration: a phone's id is bound to the user who registered it.

Registering again from the same user refreshes the details (idempotent, as a phone retries);
a device bound to someone else is a conflict until an admin releases it, so one person's
offline work can never be synced under another's name.

Audited in the chain of the device's jurisdiction: `device.register` once per device (a
repeated registration records it again under the same key, so one lost to a crash is filled
in and none is doubled), `device.update` when a registration changes the phone's details, and
`device.release`. The sync's telemetry (last seen, pending counts) is bookkeeping, not audited.
"""

from __future__ import annotations

from datetime import datetime

from mongoengine import NotUniqueError

from server.actor import Actor
from server.errors import Conflict, NotFound
from server.models.device import Device
from server.services.audit import record
from server.services.audit.event import event

#: What a registration may change besides `last_seen_at` (a change is a `device.update`).
DETAILS = ("platform", "model", "app_version")


def register(actor: Actor, device_id: str, *, now: datetime, **details) -> tuple[Device, bool]:
    """Bind `device_id` to the actor; returns (device, created)."""
    existing = Device.objects(device_id=device_id).first()
    if existing is None:
        device = Device(
            device_id=device_id,
            user_id=actor.user_id,
            jurisdiction_id=actor.jurisdiction_id,
            enterprise_id=actor.enterprise_id,
            registered_at=now,
            last_seen_at=now,
            **details,
        )
        try:
            device.save(force_insert=True)
        except NotUniqueError:  # a concurrent registration of the same id won
            existing = Device.objects.get(device_id=device_id)
        else:
            record.record_events([_registered(actor, device, now)], now=now)
            return device, True
    if existing.user_id != actor.user_id:
        raise Conflict("this device is registered to another user; ask an admin to release it")
    before = existing.to_mongo().to_dict()
    Device.objects(id=existing.id).update_one(
        set__last_seen_at=now, **{f"set__{k}": v for k, v in details.items() if v is not None}
    )
    existing.reload()
    events = [_registered(actor, existing, now)]
    if any(before.get(k) != getattr(existing, k) for k in DETAILS):
        events.append(
            event(
                actor,
                "device.update",
                "device",
                existing.id,
                before=before,
                after=existing,
                now=now,
                chain=existing.jurisdiction_id,
            )
        )
    record.record_events(events, now=now)
    return existing, False


def _registered(actor: Actor, device: Device, now: datetime) -> dict:
    return event(
        actor,
        "device.register",
        "device",
        device.id,
        before=None,
        after=device,
        now=now,
        chain=device.jurisdiction_id,
        key=f"device.register:{device.id}",
    )


def release(actor: Actor, device_id: str, *, now: datetime) -> None:
    """Unbind a device (admin only) so that another user can register it."""
    device = Device.objects.for_actor(actor).filter(device_id=device_id).first()
    if device is None or not actor.is_admin:
        raise NotFound(f"device {device_id} not found")
    device.delete()
    record.record(
        actor,
        "device.release",
        "device",
        device.id,
        before=device,
        after=None,
        now=now,
        chain=device.jurisdiction_id,
    )
