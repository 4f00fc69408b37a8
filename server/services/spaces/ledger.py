"""Use cases of the confined-space ledger (台账): register, change and retire spaces, their
sign photos, and the coverage figures regulators follow (seed 004: ledger and signage at 100 %).

Who writes: an enterprise manager for their own enterprise, and admins. Everyone in a space's
audience reads it (server.models.space). A space is never deleted: it is retired, so permits
and entries that name it keep their meaning. Every change is audited in the chain of the
space's jurisdiction.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from bson import ObjectId
from bson.errors import InvalidId
from mongoengine import NotUniqueError

from checklists.loader import load_gas_limits
from media.links import LinkRef, LinkTarget
from server.actor import Actor, Role
from server.clock import utcnow
from server.errors import Conflict, Forbidden, RuleViolation
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.scoping import get_or_404
from server.models.space import Space, SpaceStatus
from server.models.synced import changed_fields, mark_dirty
from server.models.updates import set_changes
from server.services.audit import record
from server.services.spaces import poisoning

#: The shipped gas-test rules, read once (the gas codes a ledger entry may name).
gas_limits = cache(load_gas_limits)

#: The photo link kind of a space's sign photo (registered in server.wiring).
LINK_KIND = "space"


def create_space(actor: Actor, *, enterprise_id, now: datetime, **fields) -> Space:
    """Register a space in an enterprise's ledger; its code is unique within the enterprise."""
    enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
    require_writer(actor, enterprise.id)
    _check_gases(fields.get("gases"))
    space = Space(
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        created_at=now,
        updated_at=now,
        **fields,
    )
    try:
        space.save(force_insert=True)
    except NotUniqueError:
        raise Conflict(f"the enterprise has a space coded {fields['code']} already") from None
    audit(actor, "space.create", None, space, now, key=f"space.create:{space.id}")
    poisoning.refresh(actor, enterprise.id, now=now)
    return space


def update_space(actor: Actor, space: Space, *, now: datetime, **changes) -> Space:
    """Change a space's entry; refuses to overwrite a concurrent change (compare-and-set)."""
    require_writer(actor, space.enterprise_id)
    _check_gases(changes.get("gases"))
    updates = set_changes(changes)
    try:
        n = Space.objects(id=space.id, version=space.version).update_one(
            **updates, set__updated_at=now, inc__version=1
        )
    except NotUniqueError:
        raise Conflict(f"the enterprise has a space coded {changes['code']} already") from None
    if n != 1:
        raise Conflict("the space was changed by someone else; reload and retry")
    updated = Space.objects.get(id=space.id)
    action = "space.retire" if changes.get("status") == SpaceStatus.RETIRED else "space.update"
    audit(actor, action, space, updated, now)
    if {"gases", "status"} & changes.keys():
        poisoning.refresh(actor, space.enterprise_id, now=now)
    return updated


def photo_link_target(actor: Actor, space_id: str) -> LinkTarget | None:
    """A sign photo may be linked to, and is seen through, a space the actor sees (the
    manager who keeps the ledger, or an inspector photographing the sign on a visit)."""
    try:
        oid = ObjectId(space_id)
    except (InvalidId, TypeError):
        return None
    wanted = {**dict.fromkeys(Space.audience.fields, 1), "enterprise_id": 1}
    raw = Space._get_collection().find_one({"_id": oid}, wanted)
    if not Space.audience.allows(actor, raw):
        return None
    return LinkTarget(enterprise_id=raw["enterprise_id"])


def on_photo_arrived(sha256: str, link: LinkRef) -> None:
    """Arrival hook of a photo linked to a space: it becomes the space's sign photo (the
    latest to arrive wins; idempotent for the same photo). Not audited as a ledger change:
    the photo's own upload record says who took it and when."""
    changed = changed_fields()
    changed["$set"].update(sign_photo=sha256, sign_photo_at=utcnow())
    result = Space._get_collection().update_one(
        {"_id": ObjectId(link.id), "sign_photo": {"$ne": sha256}}, changed
    )
    if result.modified_count:
        mark_dirty(Space._get_collection_name())


def coverage(enterprise_ids: list[ObjectId]) -> dict:
    """Spaces registered, with a sign photographed and with a current label, over the
    enterprises that say they have confined spaces (the rest count as not applicable)."""
    out = {
        "enterprises": 0,
        "enterprises_with_spaces": 0,
        "enterprises_with_ledger": 0,
        "spaces": 0,
        "signed": 0,
        "labelled": 0,
    }
    for page in _pages(enterprise_ids):
        flags = Enterprise._get_collection().find(
            {"_id": {"$in": page}}, {"has_confined_spaces": 1}, batch_size=len(page)
        )
        applicable = [e["_id"] for e in flags if e.get("has_confined_spaces")]
        out["enterprises"] += len(page)
        out["enterprises_with_spaces"] += len(applicable)
        with_ledger = set()
        for space in Space._get_collection().find(
            {"enterprise_id": {"$in": applicable}, "status": {"$ne": SpaceStatus.RETIRED}},
            {"enterprise_id": 1, "sign_photo": 1, "label_version": 1},
            batch_size=500,
        ):
            with_ledger.add(space["enterprise_id"])
            out["spaces"] += 1
            out["signed"] += bool(space.get("sign_photo"))
            out["labelled"] += (space.get("label_version") or 0) > 0
        out["enterprises_with_ledger"] += len(with_ledger)
    n = out["spaces"]
    out["signed_rate"] = round(out["signed"] / n, 4) if n else None
    out["labelled_rate"] = round(out["labelled"] / n, 4) if n else None
    m = out["enterprises_with_spaces"]
    out["ledger_rate"] = round(out["enterprises_with_ledger"] / m, 4) if m else None
    return out


def enterprise_coverage(actor: Actor, enterprise_id) -> dict:
    """Coverage of one enterprise the actor may see."""
    enterprise = get_or_404(Enterprise.objects.for_actor(actor), enterprise_id, "enterprise")
    return {"enterprise_id": enterprise.id, **coverage([enterprise.id])}


def jurisdiction_coverage(actor: Actor, jurisdiction_id) -> dict:
    """Coverage over the enterprises of a jurisdiction (regulators of it, and admins)."""
    jurisdiction = get_or_404(
        Jurisdiction.objects.for_actor(actor), jurisdiction_id, "jurisdiction"
    )
    if not (actor.is_admin or actor.is_regulator):
        raise Forbidden("coverage of a jurisdiction is for its regulators")
    ids = [
        e["_id"]
        for e in Enterprise._get_collection().find(
            {"jurisdiction_id": jurisdiction.id}, {"_id": 1}, batch_size=1000
        )
    ]
    return {"jurisdiction_id": jurisdiction.id, **coverage(ids)}


def _pages(ids: list, size: int = 200):
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


def require_writer(actor: Actor, enterprise_id: ObjectId) -> None:
    """Only the enterprise's manager or an admin changes its ledger and labels."""
    if actor.is_admin:
        return
    if actor.role is Role.ENTERPRISE_MANAGER and actor.enterprise_id == enterprise_id:
        return
    raise Forbidden("only the enterprise's manager or an admin keeps its ledger")


def _check_gases(gases: list[str] | None) -> None:
    if not gases:
        return
    known = gas_limits().params
    if unknown := [g for g in gases if g not in known]:
        message = f"unknown gas codes: {', '.join(unknown)} (see checklists/data/gas_limits.yaml)"
        raise RuleViolation(f"gases: {message}", errors=[{"field": "gases", "messages": [message]}])


def audit(actor, action, before, after, now, **extra) -> None:
    """One audit event of a change to a space, in its jurisdiction's chain."""
    record.record(
        actor,
        action,
        "space",
        after.id,
        before=before,
        after=after,
        now=now,
        chain=after.jurisdiction_id,
        **extra,
    )
