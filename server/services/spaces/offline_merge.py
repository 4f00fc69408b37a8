"""The merge of offline entry decisions into the roster, in (device, sequence) order, and the
server's re-check of each against what it knew at that moment.

**Order.** A device's decisions merge strictly by its own number: decision n waits until n-1
is merged (a later number pushed first waits for the earlier one), and one merge takes each
decision (a conditional claim, `pending` → `merging`), so two pushes of the same device at
once cannot interleave. Decisions of different devices merge as they arrive.

**The moment.** The phone's clock is a claim, not a fact. The decision was made after the
device had pulled the feed up to the cursor it reported (the server time of that feed entry),
after its own previous decision (as judged), and before the server received it. The moment
judged is the phone's time held within those bounds: a clock turned back lands on the lower
bound and gains nothing; a time outside them (beyond CLOCK_SKEW_SECONDS) is flagged CLOCK.

**The re-check.** The pure rules (server.services.spaces.entry_rules) run again on the permit
in the state it had at that moment (its history), the records the server holds of what
happened by then, the roster as merged so far, and the server's gas limits. Flags (texts in
checklists/data/entry_rules.yaml): SHOULD_HAVE_BEEN_DENIED (with the server's codes),
PERMIT_SUSPENDED_MEANWHILE / PERMIT_CLOSED_MEANWHILE (between the last sync and the push:
the phone could not know), INSIDE_ELSEWHERE, EXIT_WITHOUT_ENTRY, ATTENDANT_LEFT, CLOCK,
LIMITS_OUTDATED.

**A merge that died** (the process killed between its steps) leaves its decision `merging`,
which would hold back every later number of its device. `resume_stalled` (the periodic job
server.jobs.spaces.resume_offline_merges) puts a decision claimed longer than the lease of
`offline.yaml` back to `pending` (compare-and-set on its claim) and merges its device again.
Each step is safe to run twice: the judgment is stored before anything is applied
(`merge_plan`) and reused, the roster change carries the decision's id and is made once
(server.services.spaces.roster), the entry event's id derives from the decision, audit events
and alarms are keyed.

**The roster** records what happened at the manhole: an entry or exit the phone allowed is
applied (an entry without the headcount bound, since the person is in), whatever the
re-check says; what the re-check finds is flagged, not undone. Each merged decision writes
an entry event (offline, with its flags); roster changes and the merge are audited.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import yaml
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from checklists.template import GasLimits
from server.actor import Actor
from server.clock import rfc3339
from server.models.entry import Action, EntryEvent, Roster
from server.models.entry_decision import EntryDecision, MergeState
from server.models.permit import Permit, PermitStatus
from server.models.space import Space
from server.models.synced import mark_dirty
from server.services.audit import record as audit
from server.services.spaces import entry_rules as rules
from server.services.spaces import permits, roster
from server.services.spaces.entry_rules import Decision, EntryFacts
from server.services.spaces.scan import record_roster_change

DATA_FILE = Path(__file__).with_name("offline.yaml")
S = PermitStatus
_SUSPENDED = (S.SUSPENDED,)
_ENDED = (S.CLOSED, S.CANCELLED)


def _decisions():
    return EntryDecision._get_collection()


def merge_device(
    actor: Actor, device_id: str, limits: GasLimits, *, now: datetime, skew_limit_s: float
) -> list[dict]:
    """Merge the device's decisions that are next in its sequence; the merged ones."""
    merged = []
    while True:
        last = _decisions().find_one(
            {"device_id": device_id, "merge_state": {"$ne": MergeState.PENDING}},
            sort=[("device_seq", -1)],
        )
        if last is not None and last["merge_state"] != MergeState.MERGED:
            break  # another merge is on the previous one; it goes on to the next
        wanted = (last["device_seq"] if last else 0) + 1
        doc = _decisions().find_one_and_update(
            {"device_id": device_id, "device_seq": wanted, "merge_state": MergeState.PENDING},
            {"$set": {"merge_state": MergeState.MERGING, "merging_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            break  # a gap: number `wanted` has not arrived yet
        merged.append(_merge(actor, doc, last, limits, now=now, skew_limit_s=skew_limit_s))
    if merged:
        mark_dirty(EntryDecision._get_collection_name())
    return merged


@cache
def merge_lease(path: Path = DATA_FILE) -> timedelta:
    """How long a merge may hold a decision before it is presumed dead (offline.yaml)."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return timedelta(seconds=raw["merge_lease_seconds"])


def resume_stalled(limits: GasLimits, *, now: datetime, skew_limit_s: float) -> list[dict]:
    """Merge again the decisions whose merge died (claimed longer ago than the lease), and
    what waited behind them on their devices; the decisions merged."""
    stale = now - merge_lease()
    stalled = _decisions().find(
        {
            "merge_state": MergeState.MERGING,
            "$or": [{"merging_at": {"$lt": stale}}, {"merging_at": None}],
        },
        {"device_id": 1, "merging_at": 1},
    )
    merged = []
    for doc in list(stalled):
        released = _decisions().update_one(
            {
                "_id": doc["_id"],
                "merge_state": MergeState.MERGING,
                "merging_at": doc.get("merging_at"),
            },
            {"$set": {"merge_state": MergeState.PENDING, "merging_at": None}},
        )
        if released.modified_count:  # else another sweep or a live merge has it
            merged += merge_device(
                None, doc["device_id"], limits, now=now, skew_limit_s=skew_limit_s
            )
    return merged


def judged_moment(doc: dict, previous: dict | None, skew_limit_s: float):
    """(the moment judged, whether the phone's clock was outside its bounds)."""
    lows = [doc.get("synced_at"), previous.get("judged_at") if previous else None]
    low = max(filter(None, lows), default=None)
    high = doc["received_at"]
    claimed = doc["device_time"]
    moment = min(max(claimed, low) if low else claimed, high)
    slack = timedelta(seconds=skew_limit_s)
    off = (low is not None and claimed < low - slack) or claimed > high + slack
    return moment, low, off


def status_at(permit: dict, moment: datetime) -> str:
    """The permit's state at `moment`, from its history (server times)."""
    history = sorted(permit.get("history") or (), key=lambda step: step["at"])
    status = history[0]["from"] if history else permit["status"]
    for step in history:
        if step["at"] <= moment:
            status = step["to"]
    return status


def _merge(actor, doc, previous, limits, *, now, skew_limit_s) -> dict:
    space = Space._get_collection().find_one({"_id": doc["space_id"]})
    permit = Permit._get_collection().find_one({"_id": doc["permit_id"]})
    plan = doc.get("merge_plan") or _plan(doc, previous, space, permit, limits, skew_limit_s)
    flags = [tuple(f) for f in plan["flags"]]
    after = _apply(doc, space, permit, now) if doc["allowed"] else None
    if doc["allowed"] and doc["action"] == Action.EXIT and after is None:
        flags.append(("EXIT_WITHOUT_ENTRY", None))
    if after is not None and "ATTENDANT_LEFT" in plan["warnings"]:
        flags.append(("ATTENDANT_LEFT", f"{len(after['inside'])} inside"))
    if after is not None:
        record_roster_change(
            actor, doc["action"], space, permit, plan["present"], after, plan["warnings"], now=now
        )
    texts = rules.load_rules().reasons
    flagged = [_flag(texts, code, detail) for code, detail in flags]
    moment = plan["judged_at"]
    results = {
        "judged_at": moment,
        "server_allowed": plan["server_allowed"],
        "server_reasons": plan["server_reasons"],
        "flags": flagged,
        "flagged": bool(flagged),
        "roster_seq": after["seq"] if after else None,
        "entry_event_id": _event(doc, space, after, flagged, moment, limits, now),
        "merge_state": MergeState.MERGED,
        "merged_at": now,
        "updated_at": now,
    }
    _decisions().update_one(
        {"_id": doc["_id"]}, {"$set": {**results, "sync_seq": None}, "$inc": {"sync_rev": 1}}
    )
    merged = {**doc, **results}
    _audit_merge(actor, doc, merged, now)
    return merged


def _plan(doc, previous, space, permit, limits, skew_limit_s) -> dict:
    """The re-check of a decision on what the server knew then, and the flags it raises
    before anything is applied; stored on the decision, so a resumed merge judges the same."""
    moment, low, off = judged_moment(doc, previous, skew_limit_s)
    flags: list[tuple[str, str | None]] = []
    if off:
        flags.append(("CLOCK", f"phone {rfc3339(doc['device_time'])}, judged {rfc3339(moment)}"))
    if doc["gas_limits_version"] < limits.edition:
        flags.append(("LIMITS_OUTDATED", f"{doc['gas_limits_version']} < {limits.edition}"))
    present = roster.current(space["_id"])
    if present.get("seq") is None:
        roster.ensure(space)
    server = _decide(doc["action"], _facts(doc, space, permit, present, moment), limits)
    if doc["allowed"] and not server.allowed and doc["action"] != Action.EXIT:
        flags.append(("SHOULD_HAVE_BEEN_DENIED", ", ".join(server.codes)))
    if doc["allowed"] and doc["action"] == Action.ENTER:
        flags += _meanwhile(permit, low, doc["received_at"])
        flags += _elsewhere(doc)
    plan = {
        "judged_at": moment,
        "server_allowed": server.allowed,
        "server_reasons": [r.to_dict() for r in server.reasons],
        "warnings": list(server.warnings),
        "flags": [list(f) for f in flags],
        "present": _noted(present),
    }
    _decisions().update_one({"_id": doc["_id"]}, {"$set": {"merge_plan": plan}})
    return plan


def _facts(doc, space, permit, present, moment) -> EntryFacts:
    records = [
        r
        for r in permits.records_of(permit["_id"])
        if r["at"] <= moment and r["received_at"] <= doc["received_at"]
    ]
    then = {**permit, "status": status_at(permit, moment)}
    return EntryFacts(
        worker=doc["worker_id"],
        now=moment,
        space=rules.space_facts(space),
        permit=permits.facts(then, records),
        attendants_present=frozenset(present.get("attendants") or ()),
        inside=frozenset(present.get("inside") or ()),
        emptied_at=present.get("emptied_at"),
        alarm_open=bool(present.get("alarms")),
        regime=permit["regime"],
        altitude_m=permit.get("altitude_m"),
    )


def _decide(action: str, facts: EntryFacts, limits: GasLimits) -> Decision:
    if action == Action.ENTER:
        return rules.decide(facts, limits)
    if action == Action.EXIT:
        return rules.decide_exit(facts)
    if action == Action.CHECK_IN:
        return rules.decide_check_in(facts)
    return rules.decide_check_out(facts)


def _meanwhile(permit: dict, low, high) -> list[tuple[str, str]]:
    """The permit suspended, closed or cancelled after the phone's last sync and before the
    push: the phone could not have known, the entry happened all the same."""
    found = []
    for step in permit.get("history") or ():
        if (low is None or step["at"] > low) and step["at"] <= high:
            if step["to"] in _SUSPENDED:
                found.append(("PERMIT_SUSPENDED_MEANWHILE", rfc3339(step["at"])))
            elif step["to"] in _ENDED:
                found.append(("PERMIT_CLOSED_MEANWHILE", f"{step['to']} {rfc3339(step['at'])}"))
    return found


def _elsewhere(doc: dict) -> list[tuple[str, str]]:
    other = Roster._get_collection().find_one(
        {"inside": doc["worker_id"], "_id": {"$ne": doc["space_id"]}}, {"_id": 1}
    )
    return [("INSIDE_ELSEWHERE", str(other["_id"]))] if other else []


def _apply(doc, space, permit, now) -> dict | None:
    """The roster change of what the phone allowed (None: the roster had it otherwise), made
    once: a resumed merge finds it made (`merge_after`, or the roster as it is when the merge
    died between the change and noting it)."""
    sid, worker, action, mark = space["_id"], doc["worker_id"], doc["action"], doc["_id"]
    if action == Action.ENTER:
        after = roster.enter(sid, worker, permit["_id"], None, mark)
    elif action == Action.EXIT:
        after = roster.exit(sid, worker, now=now, mark=mark)
    elif action == Action.CHECK_IN:
        after = roster.check_in(sid, worker, mark)
    else:
        after = roster.check_out(sid, worker, mark)
    if after is not None:
        _decisions().update_one({"_id": mark}, {"$set": {"merge_after": _noted(after)}})
    elif roster.has_merged(sid, mark):
        after = doc.get("merge_after") or roster.current(sid)
    if after is not None and action == Action.ENTER and permit["status"] == S.APPROVED:
        permits.activate_on_entry(permit["_id"], now=now)
    return after


def _noted(state: dict) -> dict:
    """A roster as a decision notes it: without the roster's memory of merged decisions."""
    return {k: v for k, v in state.items() if k != "merged"}


def _flag(texts, code: str, detail: str | None) -> dict:
    text = texts[code]
    return {
        "code": code,
        "zh-CN": text["zh-CN"],
        "en": text["en"],
        "source": text["source"],
        "detail": detail,
    }


def _event(doc, space, after, flags, moment, limits, now):
    """The entry event of a merged decision (the log of every scan, offline ones too)."""
    event = {
        "space_id": space["_id"],
        "enterprise_id": space["enterprise_id"],
        "jurisdiction_id": space["jurisdiction_id"],
        "permit_id": doc["permit_id"],
        "action": doc["action"],
        "worker_id": doc["worker_id"],
        "by": doc["by"],
        "device_id": doc["device_id"],
        "allowed": bool(doc["allowed"] and after is not None),
        "reasons": [{"code": code} for code in doc["reasons"]],
        "roster_seq": after["seq"] if after else None,
        "headcount": after["headcount"] if after else None,
        "label_version": space.get("label_version"),
        "gas_limits_version": doc["gas_limits_version"],
        "at": now,
        "offline_decision_id": doc["_id"],
        "device_time": doc["device_time"],
        "flags": flags,
        # One event per decision, however often its merge runs.
        "_id": ObjectId(hashlib.sha256(f"entry_decision:{doc['_id']}".encode()).digest()[:12]),
    }
    try:
        EntryEvent._get_collection().insert_one(event)
    except DuplicateKeyError:
        pass  # written by the merge that died
    return event["_id"]


def _audit_merge(actor, before: dict, after: dict, now) -> None:
    """The merge in the audit chain; a flagged decision is reported from here, the one call
    point for what a flag sets going (the space's violations hook in here)."""
    action = "entry_decision.flag" if after["flagged"] else "entry_decision.merge"
    audit.record(
        actor,
        action,
        "entry_decision",
        after["_id"],
        before=before,
        after=after,
        now=now,
        chain=after["jurisdiction_id"],
        key=f"entry_decision.merge:{after['_id']}",
    )
