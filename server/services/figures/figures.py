"""The figures a reader asks for: their scope (the actor's audience), the precomputed cells
added up (hazards by level, campaign and enterprise; inspections by inspector), and the few
figures read live from small collections (confined-space coverage, denied scans and
violations, devices holding unsynced work).

Cheap on every visit: hazards and inspections are read from their cells, never counted here
(the change feed keeps the cells current: sync.figures).
"""

from __future__ import annotations

from bson import ObjectId
from pymongo.database import Database

from server import sequence
from server.actor import Actor, Role
from server.errors import Forbidden, NotFound
from server.models.device import Device
from server.models.enterprise import Enterprise
from server.models.entry import EntryEvent
from server.models.figures import HAZARDS, FigureCell
from server.models.jurisdiction import Jurisdiction
from server.models.scoping import get_or_404
from server.models.violation import Violation
from server.services.figures import cells
from server.services.spaces import ledger

#: The feed's head and the follower's cursor (sync.figures), read to say how current they are.
FEED_HEAD, CURSOR = "sync_log", "figures_cursor"


def scope_of(actor: Actor, *, jurisdiction_id=None, enterprise_id=None) -> dict:
    """The query of the figures `actor` asks for: `{}` (everything, admins), a jurisdiction or
    an enterprise. Forbidden for a role that reads no figures; NotFound for a jurisdiction or
    an enterprise outside the actor's audience."""
    if actor.role not in FigureCell.audience.rules:
        raise Forbidden("figures are for supervisors, enterprise managers and admins")
    query: dict = {}
    if jurisdiction_id is not None:
        jurisdiction = get_or_404(
            Jurisdiction.objects.for_actor(actor), jurisdiction_id, "jurisdiction"
        )
        query["jurisdiction_id"] = jurisdiction.id
    if enterprise_id is not None:
        enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
        if query and enterprise.jurisdiction_id != query["jurisdiction_id"]:
            raise NotFound(f"enterprise {enterprise_id} not found")
        query["enterprise_id"] = enterprise.id
    if actor.role is Role.SUPERVISOR:
        query.setdefault("jurisdiction_id", actor.jurisdiction_id)
    elif actor.role is Role.ENTERPRISE_MANAGER:
        query["enterprise_id"] = actor.enterprise_id
    if not FigureCell.audience.visible(actor, query) and not actor.is_admin:
        raise NotFound("figures not found")
    return query


def figures(
    db: Database,
    actor: Actor,
    *,
    jurisdiction_id=None,
    enterprise_id=None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> dict:
    """The figures of the scope `actor` asks for, over the months found (hazards) or submitted
    (inspections) in `month_from`..`month_to` (`YYYY-MM`, both optional)."""
    scope = scope_of(actor, jurisdiction_id=jurisdiction_id, enterprise_id=enterprise_id)
    query = dict(scope)
    months = {k: v for k, v in (("$gte", month_from), ("$lte", month_to)) if v}
    if months:
        query["month"] = months
    found = list(FigureCell._get_collection().find(query, {"members": 0}).batch_size(10_000))
    hazard_cells = [c for c in found if c["kind"] == HAZARDS]
    inspection_cells = [c for c in found if c["kind"] != HAZARDS]
    enterprise_ids = _enterprises(scope)
    head, followed = sequence.value(db, FEED_HEAD), sequence.value(db, CURSOR)
    return {
        "scope": {
            "jurisdiction_id": scope.get("jurisdiction_id"),
            "enterprise_id": scope.get("enterprise_id"),
            "month_from": month_from,
            "month_to": month_to,
        },
        "current": {"followed": followed, "behind": max(0, head - followed)},
        "hazards": _hazards(hazard_cells, "total"),
        "by_level": _grouped(hazard_cells, "level"),
        "by_campaign": _grouped(hazard_cells, "campaign"),
        "by_enterprise": _grouped(hazard_cells, "enterprise_id"),
        "inspections": _inspections(inspection_cells),
        "by_inspector": [
            {"inspector_id": ObjectId(key), **_inspections(group)}
            for key, group in _groups(inspection_cells, "inspector_id")
        ],
        "spaces": ledger.coverage(enterprise_ids),
        "entries": _entries(scope),
        "devices": _devices(scope),
    }


def _hazards(found: list[dict], key: str) -> dict:
    t = cells.add_up(found)
    counted = t["open"] + t["closed"] + t["penalized"]
    reinspected = t["reinspected_on_time"] + t["reinspected_late"]
    return {
        "key": key,
        **{name: t[name] for name in cells.HAZARD_TOTALS},
        "closure_rate": _rate(t["closed"], counted),
        "median_days_to_close": cells.median(t[cells.DAYS]),
        "reinspection_on_time_rate": _rate(t["reinspected_on_time"], reinspected),
    }


def _inspections(found: list[dict]) -> dict:
    t = cells.add_up(found)
    return {
        "inspections": t["inspections"],
        "unannounced": t["unannounced"],
        "unannounced_share": _rate(t["unannounced"], t["inspections"]),
    }


def _groups(found: list[dict], field: str) -> list[tuple[str, list[dict]]]:
    groups: dict[str, list[dict]] = {}
    for cell in found:
        groups.setdefault(str(cell.get(field)), []).append(cell)
    return sorted(groups.items())


def _grouped(found: list[dict], field: str) -> list[dict]:
    return [_hazards(group, key) for key, group in _groups(found, field)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _enterprises(scope: dict) -> list[ObjectId]:
    if "enterprise_id" in scope:
        return [scope["enterprise_id"]]
    found = Enterprise._get_collection().find(scope, {"_id": 1}).batch_size(5000)
    return [e["_id"] for e in found]


def _entries(scope: dict) -> dict:
    """Denied entry scans, and violations of every kind (the small collections of the
    confined-space scans: read live)."""
    return {
        "denied_scans": EntryEvent._get_collection().count_documents({**scope, "allowed": False}),
        "violations": Violation._get_collection().count_documents(scope),
    }


def _devices(scope: dict) -> dict:
    """Registered devices, and those whose last sync said they still held work the server
    has not got (mutations or photo bytes to push: sync.telemetry)."""
    live = {**scope, "revoked_at": None}
    pending = {"$or": [{"pending_mutations": {"$gt": 0}}, {"pending_photo_bytes": {"$gt": 0}}]}
    devices = Device._get_collection()
    return {
        "registered": devices.count_documents(live),
        "with_unsynced_work": devices.count_documents({**live, **pending}),
    }
