"""Device registration: a phone's id is bound to the user who registered it.

Registering again from the same user refreshes the details (idempotent, as a phone retries);
a device bound to someone else is a conflict until an admin releases it, so one person's
offline work can never be synced under another's name.
"""

from __future__ import annotations

from datetime import datetime

from mongoengine import NotUniqueError

from server.actor import Actor
from server.errors import Conflict, NotFound
from server.models.device import Device


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
            return device.save(force_insert=True), True
        except NotUniqueError:  # a concurrent registration of the same id won
            existing = Device.objects.get(device_id=device_id)
    if existing.user_id != actor.user_id:
        raise Conflict("this device is registered to another user; ask an admin to release it")
    Device.objects(id=existing.id).update_one(
        set__last_seen_at=now, **{f"set__{k}": v for k, v in details.items() if v is not None}
    )
    existing.reload()
    return existing, False


def release(actor: Actor, device_id: str) -> None:
    """Unbind a device (admin only) so that another user can register it."""
    device = Device.objects.for_actor(actor).filter(device_id=device_id).first()
    if device is None or not actor.is_admin:
        raise NotFound(f"device {device_id} not found")
    device.delete()
