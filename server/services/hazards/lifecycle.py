"""Reading hazards and taking the transitions of the table (server.services.hazards.states):
who may see a hazard, who may take a transition, what it changes; every change audited.

A transition is a compare-and-set on `(_id, sync_rev)` (the update the embedded server answers
from an index), so two people acting on one hazard at once never both win: the loser reads
again and is judged against the new state. With `version` the caller names the state it acted
on (the REST `If-Match`), and a newer one is a conflict instead.
"""

from __future__ import annotations

from datetime import date, datetime

from media.links import LinkTarget
from server.actor import Actor
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.models.hazard import Hazard
from server.models.synced import mark_dirty
from server.services.audit import record
from server.services.hazards import closeout, listing, states
from server.services.hazards.timers import arm, rearm
from server.services.hazards.timings import end_of_day

#: What an enterprise is not shown of a hazard an inspection found: where the inspector
#: stood (as for the inspection itself, server.services.inspections.HIDDEN_FROM_ENTERPRISES).
HIDDEN_FROM_ENTERPRISES = ("location",)
COLLECTION = Hazard._get_collection_name()


def shown_to(actor: Actor | None, hazard: dict) -> dict:
    """The hazard as `actor` may read it (raw in, raw out)."""
    if actor is None or not actor.is_enterprise_user:
        return hazard
    return for_enterprises(hazard)


def for_enterprises(hazard: dict) -> dict:
    """What enterprise users may read of a hazard they may see: all of one they reported."""
    if hazard.get("source") == "self_report":
        return hazard
    place = {
        k: v for k, v in (hazard.get("place") or {}).items() if k not in HIDDEN_FROM_ENTERPRISES
    }
    return {**hazard, "place": place}


def visible(actor: Actor, **filters):
    """The hazards `actor` may read, newest first (raw documents as they may see them)."""
    found = Hazard.objects.for_actor(actor).filter(**filters).order_by("-created_at")
    return _ShownQuery(found, actor)


def read(actor: Actor, hazard_id: str) -> dict:
    """One hazard as `actor` may read it; NotFound outside their scope."""
    raw = Hazard._get_collection().find_one({"_id": str(hazard_id)})
    if not Hazard.audience.allows(actor, raw):
        raise NotFound(f"hazard {hazard_id} not found")
    return _with_id(shown_to(actor, raw))


class _ShownQuery:
    def __init__(self, queryset, actor: Actor):
        self._queryset, self._actor = queryset, actor

    def count(self) -> int:
        return self._queryset.count()

    def __getitem__(self, window):
        return [_with_id(shown_to(self._actor, raw)) for raw in self._queryset[window].as_pymongo()]


def _with_id(raw: dict) -> dict:
    return {("id" if k == "_id" else k): v for k, v in raw.items()}


def take(
    actor: Actor | None,
    hazard_id: str,
    action: str,
    params: dict,
    *,
    now: datetime,
    version: int | None = None,
    label_keys: tuple = (),
) -> dict:
    """Take transition `action` on a hazard (`actor` None: the system); returns the hazard as
    the actor may read it. NotFound outside their scope, Forbidden for a role the table does
    not name, RuleViolation with every failed requirement, Conflict when `version` is stale.
    `label_keys` verify a space's QR label scanned at a re-inspection."""
    collection = Hazard._get_collection()
    while True:
        current = collection.find_one({"_id": str(hazard_id)})
        if current is None or (actor is not None and not Hazard.audience.allows(actor, current)):
            raise NotFound(f"hazard {hazard_id} not found")
        if version is not None and current["version"] != version:
            # Who may act is still told first: a stale version is no reason to hint otherwise.
            _transition(action, actor)
            raise Conflict(f"hazard {hazard_id} changed since version {version}")
        update = decide(actor, current, action, params, now=now, label_keys=label_keys)
        result = collection.update_one(
            {"_id": current["_id"], "sync_rev": current["sync_rev"]}, update
        )
        if result.matched_count:
            break
        # changed meanwhile: judge the transition again against what is there now
    mark_dirty(COLLECTION)
    after = collection.find_one({"_id": current["_id"]})
    after_write(current, after, actor, now=now)
    record.record(
        actor,
        f"hazard.{action}",
        "hazard",
        current["_id"],
        before=current,
        after=after,
        now=now,
        chain=current["jurisdiction_id"],
        key=f"hazard.{action}:{current['_id']}:{after['version']}",
    )
    return _with_id(shown_to(actor, after))


def _transition(action: str, actor: Actor | None) -> states.Transition:
    transition = states.BY_ACTION.get(action)
    if transition is None:
        raise RuleViolation(f"no transition {action}", reasons=[{"code": "UNKNOWN_ACTION"}])
    who = actor.role if actor is not None else states.SYSTEM
    if who not in transition.who:
        raise Forbidden(f"{action} is taken by {', '.join(sorted(map(str, transition.who)))}")
    return transition


def decide(
    actor: Actor | None,
    current: dict,
    action: str,
    params: dict,
    *,
    now: datetime,
    label_keys: tuple = (),
) -> dict:
    """The update (`$set`, `$inc`, `$push`) that takes `action` on `current` (a raw hazard the
    actor may see): Forbidden for a role the table does not name, RuleViolation with every
    failed requirement. The REST transitions and the phones' pushes both decide here."""
    transition = _transition(action, actor)
    params = {**_stored(params), "role": actor.role if actor else None}
    if action in PLACE_CHECKED:
        params["place_reasons"] = _place_reasons(action, current, params, actor, label_keys)
    reasons = states.refusals(transition, current, params, now)
    if reasons:
        raise RuleViolation(f"{action} is not possible now", reasons=reasons)
    update = _update(transition, current, params, actor, now)
    # The timers of the state it leads to are armed before it is written, so a crash after
    # the write loses none; one armed for a write that then lost is stale when it fires.
    arm(_prospective(current, update), now=now)
    return update


def _prospective(current: dict, update: dict) -> dict:
    """The hazard as `update` will leave it (what its timers are computed from)."""
    after = {**current, **update["$set"]}
    for field, value in update.get("$push", {}).items():
        after[field] = [*(current.get(field) or ()), value]
    return after


def after_write(before: dict, after: dict, actor: Actor | None, *, now: datetime) -> None:
    """What follows a transition once written: its timers armed again, a listing recorded."""
    rearm(before, after, now=now)
    last = (after.get("history") or [{}])[-1]
    if last.get("action") == "list":
        by = actor.user_id if actor else None
        listing.listed(after, by=by, reason=last.get("reason") or "supervisor", now=now)
    elif last.get("action") == "delist":
        listing.delisted(after["_id"], now=now)


#: Transitions that need a re-inspection at the hazard's place (server.services.hazards.closeout).
PLACE_CHECKED = ("record_reinspection", "close")


def _place_reasons(action, current: dict, params: dict, actor, label_keys) -> list[dict]:
    record = params.get("reinspection")
    if record is None and action == "close" and current.get("reinspection"):
        return []  # recorded at the place before (a major's supervisor approves later)
    by = actor.user_id if actor else None
    return closeout.place_reasons(current, record, by=by, label_keys=label_keys)


def _stored(params: dict) -> dict:
    """Request values as stored: a day (a deadline) as the instant it ends."""
    out = dict(params)
    if isinstance(out.get("deadline"), date) and not isinstance(out["deadline"], datetime):
        out["deadline"] = end_of_day(out["deadline"])
    if isinstance(out.get("plan"), dict) and isinstance(out["plan"].get("deadline"), date):
        out["plan"] = {**out["plan"], "deadline": end_of_day(out["plan"]["deadline"])}
    return out


#: Params not copied into a history entry: the caller's role (it has its own field) and the
#: place check's verdict (a refusal is never recorded).
_UNRECORDED = ("role", "place_reasons")


def _update(transition, current: dict, params: dict, actor: Actor | None, now) -> dict:
    action = transition.action
    sets: dict = {"updated_at": now, "sync_seq": None}
    pushes: dict = {}
    if transition.target is not None:
        sets["state"] = transition.target
    if action in ("issue", "reissue", "grant_extension"):
        sets["deadline"] = params["deadline"]
    elif action == "acknowledge" and params.get("plan"):
        sets["plan"] = params["plan"]
    elif action == "interim_measures":
        sets["interim_measures"] = params["measures"]
    elif action == "set_level":
        sets.update(level=params["level"], level_confirmed=True)
    elif action == "confirm_level":
        sets["level_confirmed"] = True
    elif action == "list":
        sets.update(listing="listed", listed_at=now)
    elif action == "delist":
        sets.update(listing="delisted", delisted_at=now)
    elif action == "escalate":
        pushes["escalations"] = {
            "kind": params["escalation"],
            "note": params["note"],
            "by": actor.user_id if actor else None,
            "at": now,
        }
    elif action == "penalize":
        sets["penalty"] = params["penalty"]
    elif action == "withdraw":
        sets["withdrawn_reason"] = params["reason"]
    elif action == "apply_closeout":
        sets["closeout_application"] = {
            "text": params["application"],
            "by": actor.user_id if actor else None,
            "at": now,
        }
    if action in PLACE_CHECKED and params.get("reinspection"):
        sets["reinspection"] = {
            **params["reinspection"],
            "by": actor.user_id if actor else None,
            "role": str(actor.role) if actor else states.SYSTEM,
            "at": now,
        }
    entry = {
        "action": action,
        "from": current["state"],
        "to": transition.target or current["state"],
        "by": actor.user_id if actor else None,
        "role": str(actor.role) if actor else states.SYSTEM,
        "at": now,
        **{k: v for k, v in params.items() if k not in _UNRECORDED and v not in (None, "", [], {})},
    }
    if action == "set_level":
        entry["level_before"] = current["level"]
    pushes["history"] = entry
    return {"$set": sets, "$inc": {"version": 1, "sync_rev": 1}, "$push": pushes}


def photo_link_target(actor: Actor, hazard_id: str):
    """Photo evidence may be linked to, and seen through, a hazard the actor may see."""
    raw = Hazard._get_collection().find_one(
        {"_id": str(hazard_id)}, {f: 1 for f in (*Hazard.audience.fields, "created_at")}
    )
    if not Hazard.audience.allows(actor, raw):
        return None
    return LinkTarget(enterprise_id=raw.get("enterprise_id"))
