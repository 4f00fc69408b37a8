"""The entry rules as a pure function: one passing entry per regime, and for every rule a
variant that denies it (and, where the regime changes the rule, a variant per regime)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from bson import ObjectId

from checklists.loader import load_gas_limits
from server.services.spaces import entry_rules as er
from server.services.spaces.entry_rules import Kind, Reading, Record

LIMITS = load_gas_limits()
NOW = datetime(2026, 12, 1, 9, 0)
WORKER, MATE, ATTENDANT, MANAGER = (ObjectId() for _ in range(4))
SPACE = ObjectId()


def _minutes(m):
    return NOW - timedelta(minutes=m)


def _test_readings(regime, **over):
    readings = {
        "O2": Reading(20.8, "%VOL"),
        "H2S": Reading(1, "ppm"),
        "CO": Reading(5, "mg/m3"),
        "NH3": Reading(2, "ppm"),
    }
    if regime == "hazchem":
        readings["FLAM_VOL"] = Reading(0.1, "%VOL", gas="CH4")
    else:
        readings["LEL"] = Reading(2, "%LEL")
    readings.update(over)
    return {k: v for k, v in readings.items() if v is not None}


def _records(regime, *, test_at=10, vent_at=20, readings=None, drop=(), extra=()):
    base = [
        Record(Kind.BRIEFING, _minutes(40), MANAGER),
        Record(Kind.ISOLATION, _minutes(35), MANAGER),
        Record(Kind.UNLOCK, _minutes(30), ATTENDANT),
        Record(Kind.PPE, _minutes(30), ATTENDANT),
        Record(Kind.RESCUE_KIT, _minutes(30), ATTENDANT),
        Record(Kind.EX_EQUIPMENT, _minutes(30), ATTENDANT),
        Record(Kind.VENTILATION_START, _minutes(vent_at), ATTENDANT),
        Record(Kind.GAS_TEST, _minutes(test_at), MANAGER, readings or _test_readings(regime)),
    ]
    return tuple(r for r in base if r.kind not in drop) + tuple(extra)


_DEFAULT = object()


def _facts(regime="industrial", *, records=None, permit=_DEFAULT, **over):
    if permit is _DEFAULT:
        permit = er.PermitFacts(
            status="active",
            valid_from=NOW - timedelta(hours=2),
            valid_to=NOW + timedelta(hours=6),
            entrants=frozenset({WORKER, MATE}),
            attendants=frozenset({ATTENDANT}),
            max_headcount=2,
            approved_by_principal=True,
            records=records if records is not None else _records(regime),
        )
    facts = er.EntryFacts(
        worker=WORKER,
        now=NOW,
        space=er.SpaceFacts(
            id=SPACE,
            active=True,
            gases=("NH3", "H2S"),
            explosive=True,
            location=(121.9, 30.9),
            geofence_radius_m=30,
        ),
        permit=permit,
        attendants_present=frozenset({ATTENDANT}),
        regime=regime,
    )
    return replace(facts, **over)


def _decide(facts):
    return er.decide(facts, LIMITS)


def _denied(facts, code):
    decision = _decide(facts)
    assert not decision.allowed
    assert code in decision.codes, decision.codes
    reason = next(r for r in decision.reasons if r.code == code)
    assert reason.zh_cn and reason.en and reason.source
    return decision


REGIMES = ["industrial", "hazchem"]


@pytest.mark.parametrize("regime", REGIMES)
def test_an_entry_with_everything_in_place_is_allowed(regime):
    decision = _decide(_facts(regime))
    assert decision.allowed, decision.codes
    assert decision.reasons == ()


def test_every_reason_code_has_its_texts_and_source():
    rules = er.load_rules()
    for code, text in rules.reasons.items():
        assert text["zh-CN"] and text["en"] and text["source"], code


# -- label and space ------------------------------------------------------------------------


def test_qr_invalid():
    _denied(_facts(label_ok=False), "QR_INVALID")
    _denied(_facts(space=replace(_facts().space, active=False)), "QR_INVALID")


# -- permit ---------------------------------------------------------------------------------


def test_no_permit():
    _denied(_facts(permit=None), "NO_PERMIT")
    draft = replace(_facts().permit, status="draft")
    _denied(_facts(permit=draft), "NO_PERMIT")


def test_outside_the_window():
    late = replace(_facts().permit, valid_to=NOW - timedelta(minutes=1))
    _denied(_facts(permit=late), "NO_PERMIT")


def test_validity_limit_is_hazchem_only():
    long = replace(_facts("hazchem").permit, valid_to=NOW + timedelta(hours=23))
    _denied(_facts("hazchem", permit=long), "PERMIT_TOO_LONG")
    long = replace(_facts("industrial").permit, valid_to=NOW + timedelta(hours=23))
    assert _decide(_facts("industrial", permit=long)).allowed  # the form's window binds


def test_principal_approval_where_the_space_holds_h2s_co_or_co2():
    facts = _facts(permit=replace(_facts().permit, approved_by_principal=False))
    _denied(facts, "APPROVER_NOT_AUTHORISED")
    plain = replace(facts, space=replace(facts.space, gases=("NH3",)))
    assert _decide(plain).allowed


def test_suspended():
    _denied(_facts(permit=replace(_facts().permit, status="suspended")), "SUSPENDED")


# -- people ---------------------------------------------------------------------------------


def test_not_authorised():
    _denied(_facts(worker=ObjectId()), "NOT_AUTHORISED")


def test_already_inside():
    _denied(_facts(inside=frozenset({WORKER})), "ALREADY_INSIDE")


def test_no_attendant_checked_in():
    _denied(_facts(attendants_present=frozenset()), "NO_ATTENDANT")
    # Someone checked in who is not the permit's attendant does not count.
    _denied(_facts(attendants_present=frozenset({MATE})), "NO_ATTENDANT")


def test_the_attendant_may_not_enter():
    decision = _denied(_facts(worker=ATTENDANT), "ATTENDANT_ENTERING")
    # ...and the attendant entering leaves no attendant outside.
    assert "NO_ATTENDANT" in decision.codes


def test_full():
    permit = replace(_facts().permit, max_headcount=1, entrants=frozenset({WORKER, MATE}))
    with_mate = _facts(permit=permit, inside=frozenset({MATE}))
    _denied(with_mate, "FULL")
    assert _decide(replace(with_mate, inside=frozenset())).allowed


# -- records --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        (Kind.BRIEFING, "NO_BRIEFING"),
        (Kind.ISOLATION, "NO_ISOLATION"),
        (Kind.UNLOCK, "NO_UNLOCK"),
        (Kind.PPE, "NO_PPE"),
        (Kind.RESCUE_KIT, "NO_RESCUE_KIT"),
        (Kind.EX_EQUIPMENT, "NO_EX_EQUIPMENT"),
    ],
)
def test_a_missing_record_denies(kind, code):
    _denied(_facts(records=_records("industrial", drop=(kind,))), code)


@pytest.mark.parametrize("kind", [Kind.UNLOCK, Kind.PPE, Kind.RESCUE_KIT])
def test_confirmations_count_only_from_an_attendant(kind):
    records = _records("industrial", drop=(kind,), extra=(Record(kind, _minutes(5), MANAGER),))
    _denied(_facts(records=records), {"unlock": "NO_UNLOCK"}.get(kind, f"NO_{kind.upper()}"))


def test_ex_equipment_only_for_an_explosive_space():
    facts = _facts(records=_records("industrial", drop=(Kind.EX_EQUIPMENT,)))
    assert _decide(replace(facts, space=replace(facts.space, explosive=False))).allowed


# -- ventilation and gas --------------------------------------------------------------------


@pytest.mark.parametrize("regime", REGIMES)
def test_not_ventilated(regime):
    _denied(
        _facts(regime, records=_records(regime, drop=(Kind.VENTILATION_START,))), "NOT_VENTILATED"
    )
    # A test before ventilation is allowed as an initial test, but entry cannot rest on it.
    _denied(_facts(regime, records=_records(regime, test_at=25, vent_at=20)), "NOT_VENTILATED")
    stopped = Record(Kind.VENTILATION_STOP, _minutes(5), ATTENDANT)
    _denied(_facts(regime, records=_records(regime, extra=(stopped,))), "NOT_VENTILATED")


@pytest.mark.parametrize("regime", REGIMES)
@pytest.mark.parametrize("gas", ["O2", "H2S", "CO", "NH3"])
def test_gas_missing(regime, gas):
    records = _records(regime, readings=_test_readings(regime, **{gas: None}))
    decision = _denied(_facts(regime, records=records), "GAS_MISSING")
    assert gas in next(r.detail for r in decision.reasons if r.code == "GAS_MISSING")


@pytest.mark.parametrize("regime", REGIMES)
def test_flammable_missing(regime):
    flam = "FLAM_VOL" if regime == "hazchem" else "LEL"
    records = _records(regime, readings=_test_readings(regime, **{flam: None}))
    _denied(_facts(regime, records=records), "GAS_MISSING")


@pytest.mark.parametrize(
    ("regime", "reading", "passes"),
    [
        ("industrial", {"O2": Reading(19.4, "%VOL")}, False),
        ("industrial", {"O2": Reading(22.5, "%VOL")}, True),
        ("hazchem", {"O2": Reading(22.5, "%VOL")}, False),  # hazchem tops O2 at 21 %
        ("industrial", {"H2S": Reading(7.0, "ppm")}, True),  # 9.92 mg/m3
        ("industrial", {"H2S": Reading(7.2, "ppm")}, False),  # 10.2 mg/m3
        ("industrial", {"LEL": Reading(11, "%LEL")}, False),
        ("hazchem", {"FLAM_VOL": Reading(0.4, "%VOL", gas="CH4")}, True),  # LEL 5 ≥ 4: 0.5
        ("hazchem", {"FLAM_VOL": Reading(0.4, "%VOL", gas="C3H8")}, False),  # LEL 2.1: 0.2
        ("hazchem", {"FLAM_VOL": Reading(0.4, "%VOL")}, False),  # unknown gas: stricter
        ("hazchem", {"FLAM_VOL": None, "LEL": Reading(2, "%LEL")}, False),  # wrong unit
        ("industrial", {"NH3": Reading(50, "ppm")}, False),
    ],
)
def test_gas_fail_by_regime(regime, reading, passes):
    facts = _facts(regime, records=_records(regime, readings=_test_readings(regime, **reading)))
    if passes:
        assert _decide(facts).allowed, _decide(facts).codes
    else:
        _denied(facts, "GAS_FAIL")


def test_plateau_co_limit():
    facts = _facts(
        records=_records(
            "industrial", readings=_test_readings("industrial", CO=Reading(25, "mg/m3"))
        )
    )
    assert _decide(facts).allowed
    _denied(replace(facts, altitude_m=2500), "GAS_FAIL")


def test_gas_stale_denies_under_gb30871_and_warns_elsewhere():
    stale = _records("hazchem", test_at=31, vent_at=40)
    _denied(_facts("hazchem", records=stale), "GAS_STALE")
    decision = _decide(_facts("industrial", records=_records("industrial", test_at=31, vent_at=40)))
    assert decision.allowed
    assert decision.warnings == ["GAS_STALE"]
    assert _decide(_facts("hazchem", records=_records("hazchem", test_at=29, vent_at=40))).allowed


def test_gas_stale_applies_to_the_first_entry_of_a_session_only():
    permit = replace(_facts("hazchem").permit, records=_records("hazchem", test_at=50, vent_at=60))
    occupied = _facts(
        "hazchem",
        permit=replace(
            permit,
            records=permit.records
            + (Record(Kind.MONITORING, _minutes(5), ATTENDANT, _test_readings("hazchem")),),
        ),
        inside=frozenset({MATE}),
    )
    assert _decide(occupied).allowed, _decide(occupied).codes


def test_retest_after_any_break_under_gb46768():
    facts = _facts(emptied_at=_minutes(2))  # emptied after the test 10 min ago
    _denied(facts, "RETEST_REQUIRED")
    records = _records("industrial", test_at=0.5, vent_at=1)
    assert _decide(replace(facts, permit=replace(facts.permit, records=records))).allowed
    # A new test without a new ventilation is not enough.
    records = _records("industrial", test_at=0.5, vent_at=5)
    _denied(replace(facts, permit=replace(facts.permit, records=records)), "RETEST_REQUIRED")


def test_retest_only_after_more_than_60_minutes_under_gb30871():
    records = _records("hazchem", test_at=20, vent_at=25)
    short = _facts("hazchem", records=records, emptied_at=_minutes(15))
    assert _decide(short).allowed, _decide(short).codes
    # The same break under GB46768 needs a new ventilation and test.
    _denied(
        _facts(records=_records("industrial", test_at=20, vent_at=25), emptied_at=_minutes(15)),
        "RETEST_REQUIRED",
    )
    long = _facts(
        "hazchem", records=_records("hazchem", test_at=70, vent_at=75), emptied_at=_minutes(65)
    )
    _denied(long, "RETEST_REQUIRED")


@pytest.mark.parametrize(
    ("regime", "age", "stale"),
    [
        ("industrial", 14, False),
        ("industrial", 16, True),
        ("hazchem", 110, False),
        ("hazchem", 125, True),
    ],
)
def test_monitoring_age_by_regime(regime, age, stale):
    records = _records(regime, test_at=200, vent_at=210) + (
        Record(Kind.MONITORING, _minutes(age), ATTENDANT, _test_readings(regime)),
    )
    facts = _facts(regime, records=records, inside=frozenset({MATE}))
    if stale:
        _denied(facts, "MONITOR_STALE")
    else:
        assert _decide(facts).allowed, _decide(facts).codes


def test_alarm_open_or_a_bad_monitoring_reading_denies_until_a_new_test():
    _denied(_facts(alarm_open=True), "ALARM")
    bad = Record(
        Kind.MONITORING,
        _minutes(5),
        ATTENDANT,
        _test_readings("industrial", O2=Reading(18, "%VOL")),
    )
    facts = _facts(
        records=_records("industrial", test_at=8, vent_at=9, extra=(bad,)), inside=frozenset({MATE})
    )
    _denied(facts, "ALARM")
    retest = Record(Kind.GAS_TEST, _minutes(1), MANAGER, _test_readings("industrial"))
    cleared = replace(facts, permit=replace(facts.permit, records=facts.permit.records + (retest,)))
    assert _decide(cleared).allowed, _decide(cleared).codes


# -- location -------------------------------------------------------------------------------


def test_location_only_with_a_usable_fix():
    far = er.Fix(121.95, 30.9, accuracy_m=10)  # about 4.8 km east
    _denied(_facts(fix=far), "LOCATION")
    assert _decide(_facts(fix=er.Fix(121.9001, 30.9, accuracy_m=10))).allowed
    # Underground fixes are poor: an inaccurate fix is not used against the worker.
    assert _decide(_facts(fix=er.Fix(121.95, 30.9, accuracy_m=400))).allowed
    assert _decide(_facts(fix=None)).allowed


# -- exits and attendants -------------------------------------------------------------------


def test_an_exit_needs_the_worker_inside_and_nothing_else():
    inside = _facts(inside=frozenset({WORKER}), permit=None)
    assert er.decide_exit(inside).allowed  # no permit, no attendant: they still come out
    assert er.decide_exit(_facts()).codes == ["NOT_INSIDE"]
    assert er.decide_exit(replace(inside, label_ok=False)).codes == ["QR_INVALID"]


def test_an_attendant_checks_in_on_a_permit_in_force_at_the_space():
    ready = _facts(worker=ATTENDANT, attendants_present=frozenset())
    assert er.decide_check_in(ready).allowed
    assert er.decide_check_in(replace(ready, worker=WORKER)).codes == ["NOT_ATTENDANT"]
    assert er.decide_check_in(replace(ready, permit=None)).codes == ["NO_PERMIT"]
    again = replace(ready, attendants_present=frozenset({ATTENDANT}))
    assert er.decide_check_in(again).codes == ["ALREADY_CHECKED_IN"]
    far = er.Fix(121.95, 30.9, 10)
    assert er.decide_check_in(replace(ready, fix=far)).codes == ["LOCATION"]
    assert er.decide_check_in(replace(ready, fix=replace(far, accuracy_m=500))).allowed


def test_the_last_attendant_leaving_entrants_inside_is_warned():
    present = _facts(worker=ATTENDANT, inside=frozenset({WORKER}))
    decision = er.decide_check_out(present)
    assert decision.allowed and decision.warnings == ["ATTENDANT_LEFT"]
    second = replace(present, attendants_present=frozenset({ATTENDANT, MANAGER}))
    assert er.decide_check_out(second).reasons == ()
    assert er.decide_check_out(replace(present, worker=MATE)).codes == ["NOT_CHECKED_IN"]
