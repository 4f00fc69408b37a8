"""The scan at a confined space (先扫码、后作业): enter, exit, attendant check-in and check-out.

One scan: refuse a stale request; verify the label (forged, altered, rotated-out and
other-space tokens are refused as QR_INVALID with the label's own reason); read the facts in
one command (the space, its roster, the permits in force with their records, and the caller's
token when the request was let in without a read: `_gather`); let the pure rules decide
(server.services.spaces.entry_rules); and, if allowed, change the roster by a conditional
update (server.services.spaces.roster) that cannot over-fill the space or double an entry even
when the rules' reading of the roster is already stale. Every scan, allowed or denied, is an
entry event; every roster change is audited in the chain of the space's jurisdiction.

Both are written after the answer, by the job of the scan's outbox entry, which is also the
replay guard (server.services.spaces.scan_log): a denial writes that entry and nothing else;
an allowed scan writes it before the roster change, pending, and its outcome once the change
is made or refused. A replay, even of a request first denied and now allowed, never reaches
the roster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bson import ObjectId

from checklists.template import GasLimits
from server.actor import Actor
from server.errors import Forbidden, RuleViolation
from server.models import keyed_reads
from server.models.alarm import AlarmKind
from server.models.entry import Action, Roster
from server.models.permit import Permit, PermitRecord, PermitStatus
from server.models.space import Space
from server.services import auth
from server.services.audit import record as audit
from server.services.spaces import alarms, labels, permits, roster, scan_log
from server.services.spaces import entry_rules as rules
from server.services.spaces.entry_rules import Decision, EntryFacts, Fix


@dataclass(frozen=True)
class ScanRequest:
    token: str
    action: str
    nonce: str
    #: When the device sent it (its clock): a request older than the window is refused.
    sent_at: datetime
    device_id: str
    #: Whose entry it is (None: the caller's own); an attendant scans for an entrant.
    worker_id: ObjectId | None = None
    fix: Fix | None = None
    #: The space the caller means to be at (the app's permit's space), when it knows it: a
    #: label of another space is then refused.
    space_id: ObjectId | None = None


@dataclass(frozen=True)
class ScanSettings:
    keys: tuple[labels.LabelKey, ...]
    limits: GasLimits
    #: How far a request's `sent_at` may be from the server's clock.
    nonce_window: timedelta


def scan(
    actor: Actor,
    request: ScanRequest,
    settings: ScanSettings,
    *,
    now: datetime,
    caller: str | None = None,
) -> dict:
    """Decide and record one scan; the outcome with every reason. `caller`: the hash of the
    bearer token the actor was let in by without a read (auth.RecentTokens), verified here by
    the scan's own read before anything is written."""
    worker = request.worker_id or actor.user_id
    found, label_ok, label_reason = _labelled(
        request.token,
        settings.keys,
        request.space_id,
        records=request.action == Action.ENTER,
        caller=_Caller(caller, actor, now) if caller else None,
    )
    # After the read that verifies the caller (a revoked token is told 401 first), before
    # anything is written.
    _check_fresh(request, settings, now)
    if found is None:
        decision = _label_denial(label_reason)
        event = _event(actor, request, worker, None, None, decision, None, now, None)
        return _outcome(scan_log.record_denial(actor, event, now=now), None)
    space = found.space
    permit = _chosen(found.permits, worker, now)
    _authorise(actor, worker, permit, space)
    facts, present = _facts(request.action, worker, found, permit, label_ok, request.fix, now)
    if present.get("seq") is None:
        roster.ensure(space)  # the space's first scan
    decision = _decide(request.action, facts, settings.limits)
    if label_reason and not decision.allowed:
        decision = _with_label_detail(decision, label_reason)
    edition = settings.limits.edition
    if not decision.allowed:
        event = _event(actor, request, worker, space, permit, decision, None, now, edition)
        return _outcome(scan_log.record_denial(actor, event, now=now), None)
    claimed = _event(actor, request, worker, space, permit, decision, None, now, edition)
    claimed["allowed"] = None  # open until the roster changes or refuses
    token = scan_log.claim(actor, claimed, now=now)
    after, decision = _apply(request.action, space, worker, permit, decision, now, token)
    event = _event(actor, request, worker, space, permit, decision, after, now, edition)
    event["_id"] = claimed["_id"]
    scan_log.settle(token, event, present, after, now=now)
    if after is not None:
        _alarm_if_left(space, permit, after, decision.warnings, now)
    return _outcome(event, after)


def preview(
    actor: Actor,
    space: dict,
    action: str,
    settings: ScanSettings,
    *,
    now: datetime,
    worker_id: ObjectId | None = None,
    token: str | None = None,
) -> dict:
    """What a scan of `action` at `space` would decide now, with the same rules and facts, and
    no effect: no nonce taken, no roster change, no entry event, no violation. With `token`
    the label is verified as a scan would (against this space); without, the label rule is
    not judged (`label_checked` false). The scan itself may still differ: the roster or the
    permit can change before the tap."""
    worker = worker_id or actor.user_id
    records = action == Action.ENTER
    label_ok, label_reason = True, None
    if token is not None:
        found, label_ok, label_reason = _labelled(
            token, settings.keys, space["_id"], records=records
        )
        if found is None:
            return _preview(action, space, None, worker, _label_denial(label_reason), {}, now)
    else:
        found = _gather(space["_id"], records=records)
    permit = _chosen(found.permits, worker, now)
    _authorise(actor, worker, permit, space)
    facts, present = _facts(action, worker, found, permit, label_ok, None, now)
    decision = _decide(action, facts, settings.limits)
    if label_reason and not decision.allowed:
        decision = _with_label_detail(decision, label_reason)
    return {
        **_preview(action, space, permit, worker, decision, present, now),
        "label_checked": token is not None,
    }


def _facts(action, worker, found, permit, label_ok, fix, now) -> tuple[EntryFacts, dict]:
    """What the entry rules judge, for a scan and its preview alike, and the roster read. Only
    an entry's rules read the permit's records (briefing, ventilation, gas tests...)."""
    space, present = found.space, found.present
    records = found.records.get(permit["_id"], []) if permit else []
    facts = EntryFacts(
        worker=worker,
        now=now,
        space=rules.space_facts(space),
        permit=permits.facts(permit, records) if permit else None,
        attendants_present=frozenset(present.get("attendants") or ()),
        inside=frozenset(present.get("inside") or ()),
        emptied_at=present.get("emptied_at"),
        alarm_open=bool(present.get("alarms")),
        label_ok=label_ok,
        fix=fix,
        regime=permit["regime"] if permit else "industrial",
        altitude_m=permit.get("altitude_m") if permit else None,
    )
    return facts, present


def _preview(action, space, permit, worker, decision: Decision, present: dict, now) -> dict:
    return {
        "allowed": decision.allowed,
        "action": action,
        "space_id": space["_id"],
        "permit_id": permit["_id"] if permit else None,
        "worker_id": worker,
        "reasons": [r.to_dict() for r in decision.reasons],
        "headcount": present.get("headcount") or 0,
        "label_checked": True,
        "at": now,
    }


def _check_fresh(request: ScanRequest, settings: ScanSettings, now) -> None:
    if abs(request.sent_at - now) > settings.nonce_window:
        raise RuleViolation(
            "the scan request is not fresh: check the phone's clock and scan again",
            reasons=[{"code": "STALE_REQUEST"}],
        )


@dataclass(frozen=True)
class _Found:
    """What a decision reads at a space, in one command (`_gather`)."""

    space: dict
    present: dict
    #: The permits in force on the space, latest first (at most `_PERMITS_READ`).
    permits: list[dict]
    #: Their records, by permit id, in the order the server received them (entries only).
    records: dict


#: The permits in force a scan reads (a space has one or two at a time).
_PERMITS_READ = 20


@dataclass(frozen=True)
class _Caller:
    """A caller to verify in the scan's read (auth.RecentTokens.confirm)."""

    token_hash: str
    actor: Actor
    now: datetime

    def verify(self, read: dict) -> None:
        auth.recent_tokens.confirm(self.token_hash, read, self.actor, now=self.now)


def _labelled(token: str, keys, expected, *, records: bool, caller: _Caller | None = None):
    """(what the decision reads at the space the label names, whether the label verifies as
    its current one, the label's refusal code); no space read when the token itself does not
    verify. With `caller`, the caller's token is verified by the same read."""
    try:
        label = labels.verify(token, keys, space_id=expected)
    except labels.LabelError as error:
        if caller is not None:
            caller.verify(keyed_reads.read({"caller": caller.token_hash}, _caller_reads()))
        return None, False, error.code
    found = _gather(label.space_id, records=records, caller=caller)
    if found is None:
        return None, False, labels.OTHER_SPACE
    if label.version != found.space.get("label_version"):
        return found, False, labels.ROTATED
    return found, True, None


_UNREAD_CALLER = {"user.password_hash": 0}


def _caller_reads() -> list[dict]:
    return auth.token_reads("caller")


def _gather(space_id: ObjectId, *, records: bool, caller: _Caller | None = None) -> _Found | None:
    """The space, its roster and the permits in force on it, with their records when an
    entry's rules need them (briefing, ventilation, gas tests...), by one command
    (server.models.keyed_reads); None when there is no such space. With `caller`, the same
    command reads the caller's token and user, verified before anything else is judged."""
    in_force = [
        {
            "$match": {
                "status": {"$in": list(PermitStatus.IN_FORCE)},
                "$expr": {"$eq": ["$space_id", "$$space"]},
            }
        },
        {"$sort": {"valid_from": -1}},
        {"$limit": _PERMITS_READ},
        # What no decision reads: the entrants' details (their ids are `entrant_ids`), the
        # permit's history and bookkeeping.
        {"$project": {"entrants": 0, "history": 0, "mutation_ids": 0}},
    ]
    if records:
        # By `permit_id`, not unique: MongoDB uses its index, the embedded server scans.
        in_force.append(
            {
                "$lookup": {
                    "from": PermitRecord._get_collection_name(),
                    "localField": "_id",
                    "foreignField": "permit_id",
                    "as": "records",
                }
            }
        )
    found = keyed_reads.read(
        {"space_id": space_id, **({"caller": caller.token_hash} if caller else {})},
        [
            *(_caller_reads() if caller else ()),
            keyed_reads.by_key("space", Space._get_collection_name(), "space_id"),
            keyed_reads.by_key("roster", Roster._get_collection_name(), "space_id"),
            {
                "$lookup": {
                    "from": Permit._get_collection_name(),
                    "let": {"space": "$space_id"},
                    "pipeline": in_force,
                    "as": "permits",
                }
            },
            # What no decision reads: the roster's bookkeeping, and the caller's password hash.
            {"$project": {**{f"roster.{f}": 0 for f in roster.BOOKKEEPING}, **_UNREAD_CALLER}},
        ],
    )
    if caller is not None:
        caller.verify(found)
    if not found["space"]:
        return None
    held = {p["_id"]: p.pop("records", None) or [] for p in found["permits"]}
    return _Found(
        space=found["space"][0],
        present=found["roster"][0] if found["roster"] else roster.empty(space_id),
        permits=found["permits"],
        records={pid: sorted(rs, key=_as_received) for pid, rs in held.items()},
    )


def _as_received(record: dict) -> tuple:
    """The order of `permits.records_of` (MongoDB sorts a missing time first)."""
    at = record.get("received_at")
    return (at is not None, at or 0, record["_id"])


def _chosen(found: list[dict], worker: ObjectId, now: datetime) -> dict | None:
    """The permit the scan is judged on: of those in force on the space, one whose window
    holds now and names the worker, else one whose window holds now, else the latest."""

    def names(p: dict) -> bool:
        return worker in (p.get("entrant_ids") or ()) or worker in (p.get("attendants") or ())

    def holds(p: dict) -> bool:
        return p["valid_from"] <= now <= p["valid_to"]

    for wanted in (lambda p: holds(p) and names(p), holds, lambda p: True):
        chosen = next((p for p in found if wanted(p)), None)
        if chosen is not None:
            return chosen
    return None


def _authorise(actor: Actor, worker: ObjectId, permit: dict | None, space: dict) -> None:
    """A worker scans for themselves; an attendant of the permit, the enterprise's manager or
    an admin may scan for another (the attendant registers who goes in, GB30871 6.8c)."""
    if worker == actor.user_id or actor.is_admin:
        return
    if permit is not None and actor.user_id in (permit.get("attendants") or ()):
        return
    if actor.enterprise_id == space["enterprise_id"] and actor.role.value == "enterprise_manager":
        return
    raise Forbidden("only the worker, an attendant of the permit or the manager scans for them")


def _decide(action: str, facts: EntryFacts, limits: GasLimits) -> Decision:
    if action == Action.ENTER:
        return rules.decide(facts, limits)
    if action == Action.EXIT:
        return rules.decide_exit(facts)
    if action == Action.CHECK_IN:
        return rules.decide_check_in(facts)
    return rules.decide_check_out(facts)


def _apply(action, space, worker, permit, decision, now, token) -> tuple[dict | None, Decision]:
    """The roster change an allowed scan makes, leaving its outbox entry's `token`; a denial
    when the roster, changed since the rules read it, refuses it."""
    sid = space["_id"]
    if action == Action.ENTER:
        after = roster.enter(sid, worker, permit["_id"], permit["max_headcount"], token=token)
        if after is None:
            inside = worker in (roster.current(sid).get("inside") or ())
            maximum = f"maximum {permit['max_headcount']}"
            return None, rules.denial("ALREADY_INSIDE") if inside else rules.denial("FULL", maximum)
        if permit["status"] == PermitStatus.APPROVED:
            permits.activate_on_entry(permit["_id"], now=now)
        return after, decision
    if action == Action.EXIT:
        after = roster.exit(sid, worker, now=now, token=token)
        return after, decision if after is not None else rules.denial("NOT_INSIDE")
    if action == Action.CHECK_IN:
        after = roster.check_in(sid, worker, token=token)
        return after, decision if after is not None else rules.denial("ALREADY_CHECKED_IN")
    after = roster.check_out(sid, worker, token=token)
    return after, decision if after is not None else rules.denial("NOT_CHECKED_IN")


def _label_denial(code: str | None) -> Decision:
    return _with_label_detail(rules.denial("QR_INVALID"), code)


def _with_label_detail(decision: Decision, code: str | None) -> Decision:
    """QR_INVALID says which label check failed (labels.LABEL_REASONS)."""
    if code is None:
        return decision
    zh, en = labels.LABEL_REASONS[code]
    reasons = tuple(
        type(r)(r.code, r.severity, f"{r.zh_cn}：{zh}", f"{r.en}: {en}", r.source, code)
        if r.code == "QR_INVALID"
        else r
        for r in decision.reasons
    )
    return Decision(decision.allowed, reasons)


def _event(actor, request, worker, space, permit, decision, after, now, limits_version) -> dict:
    """The entry event of a scan (without its id)."""
    return {
        "space_id": space["_id"] if space else None,
        "enterprise_id": space["enterprise_id"] if space else None,
        "jurisdiction_id": space["jurisdiction_id"] if space else None,
        "permit_id": permit["_id"] if permit else None,
        "action": request.action,
        "worker_id": worker,
        "by": actor.user_id,
        "device_id": request.device_id,
        "nonce": f"{actor.user_id}:{request.device_id}:{request.nonce}",
        "allowed": decision.allowed and after is not None,
        "reasons": [r.to_dict() for r in decision.reasons],
        "roster_seq": after["seq"] if after else None,
        "headcount": after["headcount"] if after else None,
        "fix": _fix(request.fix),
        "label_version": space.get("label_version") if space else None,
        # The gas-limits version the rules applied (checklists.gas_versions), for a re-check.
        "gas_limits_version": limits_version,
        "at": now,
    }


def _outcome(event: dict, after: dict | None) -> dict:
    return {
        "allowed": event["allowed"],
        "action": event["action"],
        "event_id": event["_id"],
        # The scan's outbox entry, which holds the decision until its job writes the event.
        "scan_id": scan_log.entry_id(event["nonce"]),
        "space_id": event["space_id"],
        "permit_id": event["permit_id"],
        "worker_id": event["worker_id"],
        "reasons": event["reasons"],
        "headcount": event["headcount"],
        "inside": list(after["inside"]) if after else None,
        "at": event["at"],
    }


def _fix(fix: Fix | None) -> dict | None:
    if fix is None:
        return None
    return {"longitude": fix.longitude, "latitude": fix.latitude, "accuracy_m": fix.accuracy_m}


def record_roster_change(
    actor, action: str, space: dict, permit, before, after: dict, warnings, *, now: datetime
) -> None:
    """After a roster change, whether decided online or merged from a phone: its audit event
    (one per roster change number), and the alarm when the last attendant left with entrants
    inside."""
    audit.record(
        actor,
        f"roster.{action}",
        "roster",
        space["_id"],
        before=before,
        after=after,
        now=now,
        chain=space["jurisdiction_id"],
        key=f"roster:{space['_id']}:{after['seq']}",
    )
    _alarm_if_left(space, permit, after, warnings, now)


def _alarm_if_left(space: dict, permit, after: dict, warnings, now: datetime) -> None:
    """The alarm when the last attendant left with entrants inside (raised by the request:
    the entrants must be told to leave within seconds, not once a job has run)."""
    if "ATTENDANT_LEFT" in warnings:
        alarms.raise_alarm(
            AlarmKind.ATTENDANT_LEFT,
            space=space,
            permit=permit,
            ref=f"{space['_id']}:{after['seq']}",
            now=now,
        )
