"""Device observability: what each phone reports at every pull and push, its clock offset,
and which devices hold unsynced work or have stalled, per jurisdiction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.actor import Actor, Role
from server.clock import offset_minutes
from server.errors import Forbidden, RuleViolation
from server.models.device import Device

#: A device holding unsynced work that has not synced for this long has stalled.
STALL_AFTER = timedelta(hours=6)
#: Work left unsynced this long means trouble, even if the device still talks to us.
UNSYNCED_TOO_LONG = timedelta(hours=24)


@dataclass(frozen=True)
class Report:
    """What the phone says about itself with a pull or push (all optional)."""

    device_time: datetime | None = None
    pending_mutations: int | None = None
    pending_photo_bytes: int | None = None
    oldest_unsynced_at: datetime | None = None
    app_version: str | None = None

    @classmethod
    def of(cls, body: dict) -> Report:
        """The report fields of a pull query or push body."""
        return cls(
            device_time=body.get("device_time"),
            pending_mutations=body.get("pending_mutations"),
            pending_photo_bytes=body.get("pending_photo_bytes"),
            oldest_unsynced_at=body.get("oldest_unsynced_at"),
            app_version=body.get("app_version"),
        )


def clock_offset(report: Report, now: datetime) -> float | None:
    """Device clock minus server clock, in seconds; None when the device sent no time."""
    if report.device_time is None:
        return None
    return round((report.device_time - now).total_seconds(), 3)


def device_of(actor: Actor, device_id: str) -> Device:
    """The actor's registered device with this id; a rule violation otherwise."""
    device = Device.objects(device_id=device_id, user_id=actor.user_id).first()
    if device is None:
        raise RuleViolation(
            f"device {device_id} is not registered to you; register it first",
            reasons=[{"code": "DEVICE_NOT_REGISTERED", "device_id": device_id}],
        )
    if device.revoked_at is not None:
        raise Forbidden(
            f"device {device_id} was revoked; an admin releases it before it syncs again",
            reasons=[{"code": "DEVICE_REVOKED", "device_id": device_id}],
        )
    return device


def arrive(
    actor: Actor,
    device_id: str,
    report: Report,
    *,
    now: datetime,
    kind: str,
    skew_limit_s: float,
) -> str:
    """`device_of` and `record` in one command, for the push: the actor's registered, unrevoked
    device takes the report; anything else raises what `device_of` says. Returns its id."""
    changes = _changes(report, now=now, kind=kind, skew_limit_s=skew_limit_s)
    found = Device._get_collection().find_one_and_update(
        {"device_id": device_id, "user_id": actor.user_id, "revoked_at": None},
        {"$set": changes},
        projection={"_id": 1},
    )
    if found is None:  # not theirs, or revoked: say which (or record it, if released meanwhile)
        record(device_of(actor, device_id), report, now=now, kind=kind, skew_limit_s=skew_limit_s)
    return device_id


def record(
    device: Device,
    report: Report,
    *,
    now: datetime,
    kind: str,
    skew_limit_s: float,
    cursor: int | None = None,
):
    """Store what the device reported now ("pull" or "push") and its estimated clock offset,
    flagged beyond `skew_limit_s` (CLOCK_SKEW_SECONDS): phones with a wrong clock are how
    watermark times get faked (docs/domain.md, "Faked times on photo evidence")."""
    changes = _changes(report, now=now, kind=kind, skew_limit_s=skew_limit_s, cursor=cursor)
    Device._get_collection().update_one({"_id": device.id}, {"$set": changes})
    return clock_offset(report, now)


def _changes(
    report: Report, *, now: datetime, kind: str, skew_limit_s: float, cursor: int | None = None
) -> dict:
    offset = clock_offset(report, now)
    changes = {"last_seen_at": now, f"last_{kind}_at": now}
    if offset is not None:
        changes["clock_offset_s"] = offset
        changes["clock_skewed"] = abs(offset) > skew_limit_s
        changes["device_time"] = report.device_time
        changes["device_time_offset_min"] = offset_minutes(report.device_time)
    if report.oldest_unsynced_at is not None:
        changes["oldest_unsynced_at_offset_min"] = offset_minutes(report.oldest_unsynced_at)
    if cursor is not None:
        changes["cursor_seq"] = cursor
    for field in ("pending_mutations", "pending_photo_bytes", "oldest_unsynced_at", "app_version"):
        value = getattr(report, field)
        if value is not None:
            changes[field] = value
    return changes


def devices_needing_attention(actor: Actor, *, now: datetime, state: str = "unsynced"):
    """Devices in the actor's scope holding unsynced work (`unsynced`) or stalled with it
    (`stalled`), most overdue first."""
    if not (actor.is_admin or actor.role is Role.SUPERVISOR):
        raise Forbidden("only supervisors and admins follow devices")
    holding = [d for d in Device.objects.for_actor(actor) if _holds_work(d)]
    if state == "stalled":
        holding = [d for d in holding if is_stalled(d, now)]
    return sorted(holding, key=lambda d: d.oldest_unsynced_at or d.last_seen_at)


def _holds_work(device: Device) -> bool:
    return bool(device.pending_mutations) or bool(device.pending_photo_bytes)


def is_stalled(device: Device, now: datetime) -> bool:
    last_sync = max(filter(None, [device.last_pull_at, device.last_push_at]), default=None)
    if _holds_work(device) and (last_sync is None or now - last_sync > STALL_AFTER):
        return True
    return bool(device.oldest_unsynced_at and now - device.oldest_unsynced_at > UNSYNCED_TOO_LONG)
