"""The entry decision of a confined space (先扫码、后作业), as one pure function: plain data in,
allow or deny out with every failing rule as a reason (code, zh-CN, en, source).

`decide(facts, rules=load_rules(), limits=...)` reads no database and no clock: the server's
scan, the attendant's phone offline and the server's re-check of an offline decision run it
on the facts each knew. Limits and timings come from the regime's gas rules
(checklists/data/gas_limits.yaml); reason texts, sources and the few other facts from
checklists/data/entry_rules.yaml. The rules, in the order they are reported:

- QR_INVALID: the label did not verify, or the space is not in use.
- NO_PERMIT / PERMIT_TOO_LONG / APPROVER_NOT_AUTHORISED / SUSPENDED: an approved or active
  permit whose window holds now; its length within the regime's `permit_validity` where it
  has one (hazchem 24 h; elsewhere the window on the form binds); approved by the principal
  or a written delegate where the space may hold H2S, CO or CO2.
- NOT_AUTHORISED / ALREADY_INSIDE: the worker is an entrant of the permit and not inside.
- NO_ATTENDANT / ATTENDANT_ENTERING: an attendant of the permit has checked in at the space,
  and the worker is not an attendant.
- NO_BRIEFING / NO_ISOLATION / NO_UNLOCK / NO_PPE / NO_RESCUE_KIT / NO_EX_EQUIPMENT: the
  records of the permit; unlock, PPE and rescue kit confirmed by an attendant; Ex equipment
  only for an explosive space.
- NOT_VENTILATED / GAS_MISSING / GAS_FAIL: the latest test after the latest ventilation start
  covers the minimum set and the space's gases and passes; ventilation has not stopped since.
- GAS_STALE: first entry of a session only, the test no older than `pre_entry_window`; a
  warning where the window is advisory (工贸 firms), a denial under GB 30871.
- RETEST_REQUIRED: once the space has emptied, after a break longer than
  `retest_after_interruption` (0: any break), a new ventilation and a new test after it.
- MONITOR_STALE / ALARM: while occupied, a monitoring reading no older than
  `monitoring_log_interval`; an open alarm, or a monitoring reading out of limits not
  followed by a passing test, denies.
- FULL: the headcount is below the permit's maximum.
- LOCATION: only when a usable fix is reported and the space has a location.

The other scans have rules of their own: `decide_exit` (QR_INVALID, NOT_INSIDE: nothing else
keeps anyone inside), `decide_check_in` (QR_INVALID, NO_PERMIT, NOT_ATTENDANT,
ALREADY_CHECKED_IN, LOCATION) and `decide_check_out` (NOT_CHECKED_IN, and the warning
ATTENDANT_LEFT when the last attendant leaves entrants inside).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import yaml
from bson import ObjectId

from checklists.gas import GasUnitError, convert
from checklists.regime import INDUSTRIES_FILE
from checklists.template import GasLimits, GasRegime
from server.geo import distance_m

RULES_FILE = INDUSTRIES_FILE.parent / "entry_rules.yaml"

DENY = "deny"
WARN = "warn"


class Kind:
    """The kinds of permit record the rules read."""

    BRIEFING = "briefing"
    ISOLATION = "isolation"
    UNLOCK = "unlock"
    PPE = "ppe"
    RESCUE_KIT = "rescue_kit"
    EX_EQUIPMENT = "ex_equipment"
    VENTILATION_START = "ventilation_start"
    VENTILATION_STOP = "ventilation_stop"
    GAS_TEST = "gas_test"
    MONITORING = "monitoring"


@dataclass(frozen=True)
class Reading:
    """One reading of a gas test or a monitoring record: value, unit, and for a flammable
    reading the gas (or its LEL in %VOL) when known."""

    value: float
    unit: str
    gas: str | None = None
    lel: float | None = None


@dataclass(frozen=True)
class Record:
    """One record of a permit: who recorded what, when; readings for tests and monitoring."""

    kind: str
    at: datetime
    by: ObjectId | None = None
    readings: Mapping[str, Reading] = field(default_factory=dict)


@dataclass(frozen=True)
class SpaceFacts:
    id: ObjectId
    active: bool
    gases: tuple[str, ...] = ()
    explosive: bool = False
    #: (longitude, latitude) of the entrance, if known.
    location: tuple[float, float] | None = None
    geofence_radius_m: float = 50


def space_facts(space: Mapping) -> SpaceFacts:
    """A ledger entry (the stored document) as the rules read it."""
    location = space.get("location")
    return SpaceFacts(
        id=space["_id"],
        active=space.get("status") == "active",
        gases=tuple(space.get("gases") or ()),
        explosive=bool(space.get("explosive")),
        location=tuple(location["coordinates"]) if location else None,
        geofence_radius_m=space.get("geofence_radius_m") or 50,
    )


@dataclass(frozen=True)
class PermitFacts:
    status: str
    valid_from: datetime
    valid_to: datetime
    entrants: frozenset[ObjectId]
    attendants: frozenset[ObjectId]
    max_headcount: int
    #: The approver is the principal or a written delegate of the principal.
    approved_by_principal: bool = False
    records: tuple[Record, ...] = ()


@dataclass(frozen=True)
class Fix:
    longitude: float
    latitude: float
    accuracy_m: float | None


@dataclass(frozen=True)
class EntryFacts:
    """Everything an entry decision rests on."""

    worker: ObjectId
    now: datetime
    space: SpaceFacts
    permit: PermitFacts | None
    #: Checked-in attendants at this space (ids), from the roster.
    attendants_present: frozenset[ObjectId] = frozenset()
    inside: frozenset[ObjectId] = frozenset()
    #: When the space last became empty after people were inside (None: never entered).
    emptied_at: datetime | None = None
    alarm_open: bool = False
    label_ok: bool = True
    fix: Fix | None = None
    #: "industrial", "hazchem" or "construction" (checklists.regime) and the site altitude.
    regime: str = "industrial"
    altitude_m: float | None = None


@dataclass(frozen=True)
class Reason:
    code: str
    severity: str
    zh_cn: str
    en: str
    source: str
    detail: str | None = None

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "zh-CN": self.zh_cn,
            "en": self.en,
            "source": self.source,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> list[str]:
        return [r.code for r in self.reasons if r.severity == DENY]

    @property
    def warnings(self) -> list[str]:
        return [r.code for r in self.reasons if r.severity == WARN]


@dataclass(frozen=True)
class EntryRules:
    """checklists/data/entry_rules.yaml, loaded."""

    reasons: Mapping[str, Mapping[str, str]]
    principal_approval_gases: frozenset[str]
    flammable_by_lel: Mapping[str, object]
    usable_fix_accuracy_m: float


@cache
def load_rules(path: Path = RULES_FILE) -> EntryRules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    for code, text in raw["reasons"].items():
        if set(text) != {"zh-CN", "en", "source"}:
            raise ValueError(f"entry rule {code}: needs zh-CN, en and source")
    return EntryRules(
        reasons=raw["reasons"],
        principal_approval_gases=frozenset(raw["principal_approval_gases"]),
        flammable_by_lel=raw["flammable_by_lel"],
        usable_fix_accuracy_m=float(raw["usable_fix_accuracy_m"]),
    )


def decide(facts: EntryFacts, limits: GasLimits, rules: EntryRules | None = None) -> Decision:
    """Allow or deny an entry; every failing rule is a reason (see the module docstring)."""
    rules = rules or load_rules()
    regime = limits.regime_for(facts.regime, "confined")
    found: list[tuple[str, str, str | None]] = []

    def fail(code: str, detail: str | None = None, severity: str = DENY) -> None:
        found.append((code, severity, detail))

    if not facts.label_ok or not facts.space.active:
        fail("QR_INVALID")
    permit = facts.permit
    if permit is None or permit.status not in ("approved", "active", "suspended"):
        fail("NO_PERMIT")
    else:
        _permit_rules(facts, permit, regime, rules, fail)
        _people_rules(facts, permit, fail)
        _record_rules(facts, permit, fail)
        _gas_rules(facts, permit, regime, limits, rules, fail)
    _location_rule(facts, rules, fail)
    return _decision(rules, found)


def decide_exit(facts: EntryFacts, rules: EntryRules | None = None) -> Decision:
    """An exit: the label verifies and the worker is inside (an exit is never refused for
    anything else: whoever is inside must be able to come out)."""
    rules = rules or load_rules()
    found: list[tuple[str, str, str | None]] = []
    if not facts.label_ok:
        found.append(("QR_INVALID", DENY, None))
    if facts.worker not in facts.inside:
        found.append(("NOT_INSIDE", DENY, None))
    return _decision(rules, found)


def decide_check_in(facts: EntryFacts, rules: EntryRules | None = None) -> Decision:
    """An attendant's check-in: the label verifies, the space is in use, a permit in force
    now names the worker as attendant, and a usable fix (if any) is at the space. The
    check-in is the binding proof of the attendant's presence (M13 Art.15)."""
    rules = rules or load_rules()
    found: list[tuple[str, str, str | None]] = []

    def fail(code: str, detail: str | None = None, severity: str = DENY) -> None:
        found.append((code, severity, detail))

    if not facts.label_ok or not facts.space.active:
        fail("QR_INVALID")
    permit = facts.permit
    if permit is None or permit.status not in ("approved", "active", "suspended"):
        fail("NO_PERMIT")
    else:
        if not permit.valid_from <= facts.now <= permit.valid_to:
            fail("NO_PERMIT", "outside the permit's window")
        if facts.worker not in permit.attendants:
            fail("NOT_ATTENDANT")
    if facts.worker in facts.attendants_present:
        fail("ALREADY_CHECKED_IN")
    _location_rule(facts, rules, fail)
    return _decision(rules, found)


def decide_check_out(facts: EntryFacts, rules: EntryRules | None = None) -> Decision:
    """An attendant's check-out: allowed for one checked in; a warning when it leaves
    entrants inside with no other attendant (M13 Art.15: the attendant must not leave)."""
    rules = rules or load_rules()
    found: list[tuple[str, str, str | None]] = []
    if not facts.label_ok:
        found.append(("QR_INVALID", DENY, None))
    if facts.worker not in facts.attendants_present:
        found.append(("NOT_CHECKED_IN", DENY, None))
    elif facts.inside and not facts.attendants_present - {facts.worker}:
        found.append(("ATTENDANT_LEFT", WARN, f"{len(facts.inside)} inside"))
    return _decision(rules, found)


def _location_rule(facts: EntryFacts, rules: EntryRules, fail) -> None:
    if facts.fix is not None and facts.space.location is not None:
        accuracy = facts.fix.accuracy_m
        if accuracy is not None and accuracy <= rules.usable_fix_accuracy_m:
            distance = distance_m(facts.space.location, (facts.fix.longitude, facts.fix.latitude))
            if distance > facts.space.geofence_radius_m + accuracy:
                fail("LOCATION", f"{distance:.0f} m from the entrance")


def _decision(rules: EntryRules, found) -> Decision:
    reasons = tuple(_reason(rules, code, severity, detail) for code, severity, detail in found)
    return Decision(allowed=not any(r.severity == DENY for r in reasons), reasons=reasons)


def denial(code: str, detail: str | None = None, rules: EntryRules | None = None) -> Decision:
    """A denial for one reason found outside the rules (the roster refused the change)."""
    return _decision(rules or load_rules(), [(code, DENY, detail)])


def _permit_rules(facts, permit, regime: GasRegime, rules: EntryRules, fail) -> None:
    if permit.status == "suspended":
        fail("SUSPENDED")
    if not permit.valid_from <= facts.now <= permit.valid_to:
        fail("NO_PERMIT", "outside the permit's window")
    validity = regime.timings.get("permit_validity")
    if validity is not None and permit.valid_to - permit.valid_from > _minutes(validity.minutes):
        fail("PERMIT_TOO_LONG", f"at most {validity.value:g} {validity.unit}")
    risky = rules.principal_approval_gases & set(facts.space.gases)
    if risky and not permit.approved_by_principal:
        fail("APPROVER_NOT_AUTHORISED", ", ".join(sorted(risky)))


def _people_rules(facts, permit, fail) -> None:
    if facts.worker in permit.attendants:
        fail("ATTENDANT_ENTERING")
    elif facts.worker not in permit.entrants:
        fail("NOT_AUTHORISED")
    if facts.worker in facts.inside:
        fail("ALREADY_INSIDE")
    if not facts.attendants_present & (permit.attendants - {facts.worker}):
        fail("NO_ATTENDANT")
    if len(facts.inside - {facts.worker}) >= permit.max_headcount:
        fail("FULL", f"maximum {permit.max_headcount}")


def _record_rules(facts, permit, fail) -> None:
    by_attendant = {r.kind for r in permit.records if r.by in permit.attendants}
    kinds = {r.kind for r in permit.records}
    if Kind.BRIEFING not in kinds:
        fail("NO_BRIEFING")
    if Kind.ISOLATION not in kinds:
        fail("NO_ISOLATION")
    if Kind.UNLOCK not in by_attendant:
        fail("NO_UNLOCK")
    if Kind.PPE not in by_attendant:
        fail("NO_PPE")
    if Kind.RESCUE_KIT not in by_attendant:
        fail("NO_RESCUE_KIT")
    if facts.space.explosive and Kind.EX_EQUIPMENT not in kinds:
        fail("NO_EX_EQUIPMENT")


def _gas_rules(facts, permit, regime, limits, rules, fail) -> None:
    records = sorted(permit.records, key=lambda r: r.at)
    starts = [r for r in records if r.kind == Kind.VENTILATION_START]
    stops = [r for r in records if r.kind == Kind.VENTILATION_STOP]
    tests = [r for r in records if r.kind == Kind.GAS_TEST]
    if not starts or (stops and stops[-1].at >= starts[-1].at):
        fail("NOT_VENTILATED")
        return
    # Entry rests on a test taken after the latest start (a pre-ventilation test is allowed,
    # but is not enough: GB46768 5.8-5.11).
    after = [t for t in tests if t.at >= starts[-1].at]
    if not after:
        fail("NOT_VENTILATED" if tests else "GAS_MISSING", "no test after ventilation")
        return
    test = after[-1]
    missing, failing = _judge(test, facts, regime, limits, rules)
    if missing:
        fail("GAS_MISSING", ", ".join(missing))
    if failing:
        fail("GAS_FAIL", ", ".join(failing))
    occupied = bool(facts.inside - {facts.worker})
    window = regime.timings.get("pre_entry_window")
    if not occupied and window is not None and facts.now - test.at > _minutes(window.minutes):
        fail("GAS_STALE", f"{window.value:g} {window.unit}", WARN if window.advisory else DENY)
    pause = regime.timings.get("retest_after_interruption")
    if not occupied and facts.emptied_at is not None and pause is not None:
        broke = facts.now - facts.emptied_at > _minutes(pause.minutes)
        if broke and not (starts[-1].at >= facts.emptied_at and test.at >= facts.emptied_at):
            fail("RETEST_REQUIRED")
    monitoring = [r for r in records if r.kind == Kind.MONITORING]
    interval = regime.timings.get("monitoring_log_interval")
    if occupied and interval is not None:
        newest = max([m.at for m in monitoring if m.at >= test.at] + [test.at])
        if facts.now - newest > _minutes(interval.minutes):
            fail("MONITOR_STALE", f"every {interval.value:g} {interval.unit}")
    bad = [m for m in monitoring if m.at >= test.at and _judge(m, facts, regime, limits, rules)[1]]
    if facts.alarm_open or bad:
        fail("ALARM")


def out_of_limits(
    record: Record,
    space: SpaceFacts,
    limits: GasLimits,
    *,
    regime: str = "industrial",
    altitude_m: float | None = None,
    rules: EntryRules | None = None,
) -> list[str]:
    """The readings of a test or monitoring record outside the regime's limits (an alarm
    while people are inside: GB46768 6.2.5; GB30871 6.5)."""
    rules = rules or load_rules()
    facts = EntryFacts(
        worker=ObjectId(),
        now=record.at,
        space=space,
        permit=None,
        regime=regime,
        altitude_m=altitude_m,
    )
    return _judge(record, facts, limits.regime_for(regime, "confined"), limits, rules)[1]


def _judge(record, facts, regime, limits, rules) -> tuple[list[str], list[str]]:
    """(gases that must be tested and are missing, readings outside their limits)."""
    required = list(dict.fromkeys([*limits.minimum_set, *facts.space.gases]))
    missing, failing = [], []
    for param in required:
        reading, limit = _reading_and_limit(param, record.readings, regime, limits, rules)
        if reading is None:
            missing.append(param)
            continue
        if limit is None:
            continue  # the regime sets no limit on it: recorded, not judged
        gas = limits.params[limit.param]
        try:
            value = convert(gas, reading.value, reading.unit)
        except GasUnitError:
            failing.append(f"{param} (unit {reading.unit})")
            continue
        for rule in limit:
            if not (math.isfinite(value) and rule.rule.admits(value, altitude_m=facts.altitude_m)):
                failing.append(f"{param} {reading.value:g} {reading.unit}")
                break
    return missing, failing


def _reading_and_limit(param, readings, regime: GasRegime, limits: GasLimits, rules):
    """The reading of `param` in a record, and every limit of the regime it must pass. A
    flammable measure is %LEL under GB46768 and %VOL under GB30871, picked by the gas's LEL."""
    if param == "LEL":
        by_lel = rules.flammable_by_lel
        high = regime.limits.get(by_lel["at_least_limit"])
        low = regime.limits.get(by_lel["below_limit"])
        if high is not None and low is not None:
            reading = readings.get("FLAM_VOL") or readings.get("LEL")
            if reading is None:
                return None, None
            if reading.unit == "%LEL":
                # GB30871 judges %VOL: a %LEL reading is refused as a unit that does not fit.
                return reading, _Limits(low.param, [low])
            lel = reading.lel
            if lel is None and reading.gas in limits.params:
                lel = limits.params[reading.gas].lel
            chosen = high if lel is not None and lel >= by_lel["at_least"] else low
            return reading, _Limits(chosen.param, [chosen])
    reading = readings.get(param)
    found = [lim for lim in regime.limits.values() if lim.param == param]
    return reading, (_Limits(param, found) if found else None)


class _Limits(list):
    """Every limit one reading must pass, and the parameter they are on."""

    def __init__(self, param: str, items):
        super().__init__(items)
        self.param = param


def _reason(rules: EntryRules, code: str, severity: str, detail: str | None) -> Reason:
    text = rules.reasons[code]
    return Reason(code, severity, text["zh-CN"], text["en"], text["source"], detail)


def _minutes(value: float) -> timedelta:
    return timedelta(minutes=value)
