"""The confined spaces of the demo (server.services.demo): three spaces of enterprise A in its
ledger, each with a label; on the first, a permit the demo `worker` may enter on, made ready
afresh at each start; on the others none, so a scan there is denied with reasons.

Idempotent: spaces are found by their code, the permit by its work on the first space. What
must be recent for the rules to allow an entry is recorded again at every start: a ventilation
start and a passing gas test (the test must precede entry by at most the regime's window, and
follow the last time the space emptied), and the `attendant`'s check-in, a scan like any other
(skipped while they are still checked in). A permit whose window no longer holds the next
hours is closed (cancelled when never entered) and a new one made.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from server.actor import Actor, Role
from server.config import Settings
from server.errors import DomainError
from server.models.entry import Action, Roster
from server.models.permit import Permit, PermitStatus
from server.models.space import Space
from server.models.user import User
from server.services.spaces import label_sheets, labels, ledger, permits, scan

log = logging.getLogger(__name__)

#: The spaces of enterprise A; the first gets the demo permit.
SPACES = [
    {
        "code": "YX-001",
        "name": "1号污水井",
        "type": "underground",
        "location": [121.9240, 30.8990],
        "underground": True,
        "depth_m": 4.5,
        "gases": ["H2S", "CO"],
        "ppe": ["正压式空气呼吸器", "安全带"],
        "rescue_equipment": ["三脚架", "救援绳"],
    },
    {
        "code": "YX-002",
        "name": "2号污水调节池",
        "type": "underground",
        "location": [121.9243, 30.8992],
        "underground": True,
        "gases": ["H2S"],
        "ppe": ["正压式空气呼吸器"],
        "rescue_equipment": ["三脚架"],
    },
    {
        "code": "YX-003",
        "name": "喷漆房排风管道",
        "type": "enclosed_equipment",
        "location": [121.9231, 30.8997],
        "explosive": True,
        "gases": [],
        "ppe": ["防毒面具"],
        "rescue_equipment": ["救援绳"],
    },
]
PERMIT_WORK = "演示：1号污水井清淤"
#: How long the demo permit must still hold at a start, and how long a new one lasts.
PERMIT_AHEAD = timedelta(hours=4)
PERMIT_LENGTH = timedelta(hours=8)
#: A passing test of every gas the first space requires (O2, flammables, H2S, CO).
READINGS = {
    "O2": {"value": 20.8, "unit": "%VOL"},
    "LEL": {"value": 0, "unit": "%LEL"},
    "H2S": {"value": 0.5, "unit": "ppm"},
    "CO": {"value": 2, "unit": "mg/m3"},
}


def scan_settings(settings: Settings) -> scan.ScanSettings:
    """What the scan of the attendant's check-in is judged with, as the scan endpoint does."""
    window = timedelta(seconds=settings.scan_nonce_window_seconds)
    return scan.ScanSettings(label_sheets.label_keys(settings), ledger.gas_limits(), window)


def seed_spaces(enterprise, users: dict, settings: Settings, *, now: datetime) -> dict:
    """Enterprise A's demo spaces, labels and permit, the permit ready for entry now."""
    manager = _actor(users["manager"])
    spaces = {}
    for fields in SPACES:
        space = Space.objects(enterprise_id=enterprise.id, code=fields["code"]).first()
        if space is None:
            space = ledger.create_space(manager, enterprise_id=enterprise.id, now=now, **fields)
        if not space.label_version:
            space = label_sheets.issue_label(manager, space, now=now)
        spaces[fields["code"]] = space
    first = spaces[SPACES[0]["code"]]
    permit = _permit(manager, first, users, now=now)
    _make_ready(manager, first, permit, users, scan_settings(settings), now=now)
    return {"spaces": spaces, "permit": permits.read(manager, permit["_id"])}


def _permit(manager: Actor, space: Space, users: dict, *, now: datetime) -> dict:
    """The demo permit in force on the space, or a new approved one."""
    found = Permit._get_collection().find_one(
        {"space_id": space.id, "work": PERMIT_WORK, "status": {"$in": list(PermitStatus.IN_FORCE)}}
    )
    if found is not None and found["valid_from"] <= now and now + PERMIT_AHEAD <= found["valid_to"]:
        return found
    if found is not None:
        _retire(manager, found, now=now)
    data = {
        "space_id": space.id,
        "work": PERMIT_WORK,
        "valid_from": now - timedelta(minutes=30),
        "valid_to": now + PERMIT_LENGTH,
        "attendants": [users["attendant"].id],
        "entrants": [{"user_id": users["worker"].id, "name": users["worker"].display_name}],
        "max_headcount": 2,
    }
    draft = permits.create(manager, data, now=now)
    approved = permits.take(
        manager, draft["_id"], "approve", {"capacity": "principal"}, now=now, version=1
    )
    attendant = _actor(users["attendant"])
    for kind, by in (("briefing", manager), ("isolation", manager)):
        _record(by, approved, kind, now - timedelta(minutes=25), now=now)
    # What the attendant confirms at the entrance (M13 Art.12, Art.14).
    for kind in ("unlock", "ppe", "rescue_kit"):
        _record(attendant, approved, kind, now - timedelta(minutes=20), now=now)
    return approved


def _retire(manager: Actor, permit: dict, *, now: datetime) -> None:
    """An expired demo permit: closed once everybody is out (cancelled if never entered)."""
    action = "close" if permit["status"] == PermitStatus.ACTIVE else "cancel"
    try:
        permits.take(
            manager,
            permit["_id"],
            action,
            {"reason": "演示重启"},
            now=now,
            version=permit["version"],
        )
    except DomainError as exc:
        log.warning("demo permit left as it is", extra={"permit": permit["_id"], "why": exc.detail})


def _make_ready(manager, space: Space, permit: dict, users: dict, settings, *, now) -> None:
    """Fresh ventilation and gas test, and the attendant checked in."""
    attendant = _actor(users["attendant"])
    _record(attendant, permit, "ventilation_start", now - timedelta(minutes=2), now=now)
    test = now - timedelta(minutes=1)
    _record(manager, permit, "gas_test", test, now=now, readings=READINGS)
    roster = Roster._get_collection().find_one({"_id": space.id}) or {}
    if attendant.user_id in (roster.get("attendants") or ()):
        return
    token = labels.sign(
        settings.keys[0],
        space_id=space.id,
        version=space.label_version,
        issued=space.label_issued_at.date(),
    )
    request = scan.ScanRequest(
        token=token,
        action=Action.CHECK_IN,
        nonce=uuid.uuid4().hex,
        sent_at=now,
        device_id="demo-seed",
        space_id=space.id,
    )
    outcome = scan.scan(attendant, request, settings, now=now)
    if not outcome["allowed"]:
        log.warning("demo attendant not checked in", extra={"reasons": outcome["reasons"]})


def _record(by: Actor, permit: dict, kind: str, at: datetime, *, now, **fields) -> None:
    data = {"permit_id": permit["_id"], "kind": kind, "at": at, **fields}
    if kind == "gas_test":
        data["instrument"] = "演示四合一气体检测仪 #001"
    permits.append_record(by, data, now=now)


def _actor(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        jurisdiction_id=user.jurisdiction_id,
        enterprise_id=user.enterprise_id,
    )
