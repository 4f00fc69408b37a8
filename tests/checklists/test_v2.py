"""The second editions against the first: each correction of the December 2026 review fails
on v1's rule and passes on v2's under the regime that matters; gas readings in any fitting
unit; unsure limits at their stricter reading; the loader's refusal of untagged facts; the
industry list; items continued across versions."""

from __future__ import annotations

import copy

import pytest
import yaml

from checklists.answer import AnswerError, Outcome, Severity, evaluate, severity
from checklists.gas import GasUnitError, convert
from checklists.loader import (
    DATA_DIR,
    ChecklistFileError,
    load_editions,
    load_gas_limits,
    load_template,
)
from checklists.regime import CONSTRUCTION, HAZCHEM, INDUSTRIAL, REGIMES, Conditions, industries

FIRM = Conditions(INDUSTRIAL, poisoning_risk=True)
CHEM = Conditions(HAZCHEM)
SITE = Conditions(CONSTRUCTION)


@pytest.fixture(scope="module")
def editions():
    return load_editions()


@pytest.fixture(scope="module")
def v1(editions):
    return {code: history[0] for code, history in editions.items()}


@pytest.fixture(scope="module")
def v2(editions):
    return {code: history[1] for code, history in editions.items()}


def judge(template, code, value, conditions=None):
    item = template[code[:2]].item(code)
    return evaluate(item, value, conditions, template[code[:2]].gases)


def hazard(template, code, value, conditions=None):
    item = template[code[:2]].item(code)
    return severity(item, judge(template, code, value, conditions), conditions)


# --- each WRONG of the review ----------------------------------------------------------------


def test_hw08_limit_follows_the_gas_lel(v1, v2):
    # v1: 0.2 %VOL for every gas false-fails methane (LEL 5 %).
    assert judge(v1, "HW-08", 0.4) is Outcome.FAIL
    methane = {"value": 0.4, "unit": "%VOL", "gas": "CH4"}
    hexane = {"value": 0.4, "unit": "%VOL", "gas": "C6H14"}
    assert judge(v2, "HW-08", methane, CHEM) is Outcome.PASS
    assert judge(v2, "HW-08", hexane, CHEM) is Outcome.FAIL
    assert judge(v2, "HW-08", {"value": 0.4, "unit": "%VOL", "lel": 4.0}, CHEM) is Outcome.PASS
    # Gas not named: the stricter limit.
    assert judge(v2, "HW-08", 0.4, CHEM) is Outcome.FAIL
    assert judge(v2, "HW-08", {"value": 0.6, "unit": "%VOL", "gas": "CH4"}, CHEM) is Outcome.FAIL
    # Outside hazchem firms GB 30871 is good practice: a warning, not a fail.
    assert judge(v2, "HW-08", hexane, FIRM) is Outcome.WARN


def test_cs08_forty_minutes_fails_at_a_hazchem_firm_and_only_warns_at_a_gongmao_firm(v1, v2):
    assert judge(v1, "CS-08", 40) is Outcome.FAIL
    assert judge(v2, "CS-08", 40, CHEM) is Outcome.FAIL
    assert judge(v2, "CS-08", 40, FIRM) is Outcome.WARN
    assert judge(v2, "CS-08", 25, FIRM) is Outcome.PASS


def test_cs09_to_12_notes_no_longer_send_a_failing_reading_to_cs07(v1, v2):
    for code in ("CS-09", "CS-10", "CS-11", "CS-12"):
        assert "CS-07" in v1["CS"].item(code).note.en
        note = v2["CS"].item(code).note
        assert note is None or "CS-07" not in note.en
    entered = v2["CS"].item("CS-23")
    assert set(entered.continues) == {"CS-09", "CS-10", "CS-11", "CS-12"}
    assert hazard(v2, "CS-23", "no", FIRM) is Severity.MAJOR_TO_CONFIRM


def test_cs14_only_no_attendant_is_major(v1, v2):
    # v1: any breach (unmarked attendant, leaving the site) was major.
    assert hazard(v1, "CS-14", "no") is Severity.MAJOR
    assert hazard(v2, "CS-26", "no", FIRM) is Severity.GENERAL
    assert v2["CS"].item("CS-26").continues == ("CS-14",)
    # No attendant at all: major under M10 Art.13(2), whose wording is recalled: to confirm.
    assert hazard(v2, "CS-14", "no", FIRM) is Severity.MAJOR_TO_CONFIRM
    # Without poisoning risk M10 Art.13 does not bind.
    assert hazard(v2, "CS-14", "no", Conditions(INDUSTRIAL, poisoning_risk=False)) is (
        Severity.GENERAL
    )


def test_cs04_split_no_approval_and_wrong_approver(v1, v2):
    assert v2["CS"].item("CS-25").continues == ("CS-04",)
    assert hazard(v2, "CS-04", "no", FIRM) is Severity.MAJOR_TO_CONFIRM
    assert hazard(v2, "CS-25", "no", FIRM) is Severity.MAJOR_TO_CONFIRM
    assert evaluate(v2["CS"].item("CS-25"), "na", FIRM) is Outcome.NOT_APPLICABLE


def test_cs20_is_worded_per_regime(v2):
    item = v2["CS"].item("CS-20")
    assert item.for_regime(HAZCHEM).legal_basis == ("GB30871 6.1 [V]",)
    assert item.for_regime(INDUSTRIAL).legal_basis == ("GB46768 5.6.1 [S]",)
    assert "盲板" in item.for_regime(HAZCHEM).text.zh_cn
    assert "盲板" not in item.for_regime(INDUSTRIAL).text.zh_cn


def test_hw03_welders_are_not_an_hs22_major_on_construction_sites(v1, v2):
    assert "HS22 Art.4(3)" in v1["HW"].item("HW-03").major_hazard.criterion
    assert hazard(v2, "HW-03", "no", SITE) is Severity.GENERAL
    assert hazard(v2, "HW-03", "no", Conditions(INDUSTRIAL)) is Severity.MAJOR
    assert hazard(v2, "HW-03", "no", CHEM) is Severity.MAJOR_TO_CONFIRM


def test_hw12_beyond_ten_metres_passes_when_the_machine_is_a_hot_work_point(v1, v2):
    assert judge(v1, "HW-12", 15) is Outcome.FAIL
    assert judge(v2, "HW-12", "BEYOND_10M_MANAGED", CHEM) is Outcome.PASS
    assert judge(v2, "HW-12", "BEYOND_10M", CHEM) is Outcome.FAIL
    assert v2["HW"].item("HW-25").legal_basis == ("GB30871 Annex A.1 #9 [V]",)


def test_hw02_fails_a_permit_below_the_level_found(v1, v2):
    assert judge(v1, "HW-02", "作业票一级，现场应为特级") is Outcome.PASS
    assert judge(v2, "HW-02", "LOWER", CHEM) is Outcome.FAIL


def test_fh03_only_listed_special_operations_need_a_certificate(v1, v2):
    with pytest.raises(AnswerError):
        judge(v1, "FH-03", "na")
    assert judge(v2, "FH-03", "na", SITE) is Outcome.NOT_APPLICABLE


def test_fh05_rail_height_by_regime(v1, v2):
    assert judge(v1, "FH-05", 1.1) is Outcome.FAIL
    assert judge(v2, "FH-05", 1.1, FIRM) is Outcome.PASS  # GB 4053.3, platforms 2-20 m
    assert judge(v2, "FH-05", 1.1, SITE) is Outcome.FAIL  # JGJ 80


def test_fh11_split_only_missing_ties_and_foundation_are_major(v1, v2):
    assert hazard(v1, "FH-11", "no") is Severity.MAJOR
    assert hazard(v2, "FH-29", "no", SITE) is Severity.GENERAL
    assert hazard(v2, "FH-11", "no", SITE) is Severity.MAJOR_TO_CONFIRM
    assert hazard(v2, "FH-28", "no", SITE) is Severity.MAJOR_TO_CONFIRM
    assert hazard(v2, "FH-11", "no", FIRM) is None  # advisory at a 工贸 firm: a warning


def test_oc04_cites_the_construction_law_not_spl_49_para_3(v1, v2):
    assert any(b.startswith("SPL Art.49") for b in v1["OC"].item("OC-04").legal_basis)
    basis = v2["OC"].item("OC-04").legal_basis
    assert basis == ("BL Art.28 [V]", "BL Art.29 [V]", "R393 Art.24 [V]")


def test_hot_work_at_gongmao_firms_cites_mps61_and_the_fire_law(v2):
    basis = v2["HW"].item("HW-01").for_regime(INDUSTRIAL).legal_basis
    assert basis == ("MPS61 Art.20 [V]", "FL21 [V]")


def test_duty_articles_come_before_penalty_articles(v2):
    assert v2["CS"].item("CS-18").legal_basis[-1] == "M13 Art.19(二) [V]"
    assert v2["OC"].item("OC-12").legal_basis[0] == "SPL Art.35 [V]"


def test_standards_now_in_force_are_described_as_such(v2):
    assert "现行有效" in v2["CS"].sources["GB46768"]
    assert "2026-05-01起实施" in v2["FH"].sources["GB3608"]


# --- gas readings ----------------------------------------------------------------------------


def test_a_reading_in_ppm_or_mg_m3_is_judged_the_same(v2):
    # H2S MAC 10 mg/m3 = 7.05 ppm at 20 °C.
    for value, unit, outcome in [(10, "mg/m3", "pass"), (7.0, "ppm", "pass"), (7.2, "ppm", "fail")]:
        reading = {"value": value, "unit": unit}
        assert judge(v2, "CS-11", reading, FIRM).value == outcome
    assert judge(v2, "CS-11", 10.5, FIRM) is Outcome.FAIL


def test_a_unit_that_does_not_fit_the_gas_is_a_clear_error(v2):
    with pytest.raises(
        AnswerError, match=r"%LEL does not fit H2S: enter it in mg/m3 or ppm or %VOL"
    ):
        judge(v2, "CS-11", {"value": 5, "unit": "%LEL"}, FIRM)
    limits = load_gas_limits()
    with pytest.raises(GasUnitError, match="mg/m3 does not fit O2"):
        convert(limits.params["O2"], 21, "mg/m3")


def test_conversion_is_stated_once_at_twenty_degrees():
    limits = load_gas_limits()
    assert limits.params["CO"].ppm_from_mg_m3(30) == pytest.approx(25.7, abs=0.05)
    assert limits.params["NH3"].ppm_from_mg_m3(30) == pytest.approx(42.4, abs=0.1)
    assert convert(limits.params["H2S"], 7.05, "ppm") == pytest.approx(10, abs=0.01)
    assert convert(limits.params["CO2"], 1, "%VOL") == pytest.approx(18307, rel=0.001)


def test_plateau_co_limits_by_altitude_with_the_stricter_band_at_the_boundary(v2):
    assert judge(v2, "CS-12", 25, Conditions(INDUSTRIAL, altitude_m=1500)) is Outcome.PASS
    assert judge(v2, "CS-12", 25, Conditions(INDUSTRIAL, altitude_m=2500)) is Outcome.FAIL
    assert judge(v2, "CS-12", 18, Conditions(INDUSTRIAL, altitude_m=2500)) is Outcome.PASS
    assert judge(v2, "CS-12", 18, Conditions(INDUSTRIAL, altitude_m=3000)) is Outcome.FAIL
    general = load_gas_limits().general
    assert general.admits("CO", 16, altitude_m=2999) and not general.admits(
        "CO", 16, altitude_m=3000
    )


def test_an_m_tagged_limit_is_enforced_at_its_stricter_reading(v2):
    rule = v2["FH"].item("FH-05").for_regime(CONSTRUCTION).pass_rule
    assert "[M]" in rule.source and rule.alternatives[0].min == 1.0
    assert rule.bounds() == (1.2, None)
    assert judge(v2, "FH-05", 1.1, SITE) is Outcome.FAIL


def test_the_gas_limits_hold_the_targeted_gases_and_the_hot_work_rules():
    limits = load_gas_limits()
    general = limits.general
    expected = {
        "CO2": 18000,
        "NH3": 30,
        "SO2": 10,
        "NO2": 10,
        "Cl2": 1,
        "HCN": 1,
        "PH3": 0.3,
        "C6H6": 10,
    }
    assert {gas: general.limits[gas].rule.max for gas in expected} == expected
    hot = limits.regimes["GB30871_hot"]
    assert set(hot.requirements) == {"daily_pretest", "special_continuous_monitoring"}
    assert general.timings["pre_entry_window"].advisory
    assert not limits.regimes["GB30871_confined"].timings["pre_entry_window"].advisory
    assert limits.regime_for(HAZCHEM, "confined").code == "GB30871_confined"
    assert limits.regime_for(INDUSTRIAL, "confined").code == "GB46768"
    assert limits.flammables()["CH4"].lel == 5.0


# --- the loader ------------------------------------------------------------------------------


def _cs_raw():
    return yaml.safe_load((DATA_DIR / "CS.yaml").read_text(encoding="utf-8"))


def _write(tmp_path, raw):
    path = tmp_path / "CS.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_loader_refuses_a_fact_without_a_verification_tag(tmp_path):
    raw = _cs_raw()
    raw["items"][0]["legal_basis"][0] = "M13 Art.6"
    with pytest.raises(ChecklistFileError, match=r"item CS-01: legal_basis: 'M13 Art.6' has no"):
        load_template(_write(tmp_path, raw))


def test_the_loader_refuses_an_unsure_fact_left_unexplained(tmp_path):
    raw = _cs_raw()
    cs04 = next(i for i in raw["items"] if i["code"] == "CS-04")
    cs04["unsure"] = [u for u in cs04["unsure"] if u["field"] != "major_hazard"]
    with pytest.raises(ChecklistFileError, match=r"item CS-04: major_hazard: is unsure"):
        load_template(_write(tmp_path, raw))


def test_the_loader_refuses_a_first_edition_file_as_current(tmp_path):
    first = (DATA_DIR / "editions" / "CS.1.yaml").read_text(encoding="utf-8")
    (tmp_path / "CS.yaml").write_text(first, encoding="utf-8")
    with pytest.raises(ChecklistFileError, match="format: must be 2"):
        load_template(tmp_path / "CS.yaml")


def test_gas_limits_refuse_an_untagged_limit(tmp_path):
    raw = yaml.safe_load((DATA_DIR / "gas_limits.yaml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(raw)
    bad["regimes"]["GB46768"]["limits"]["O2"]["source"] = "GB46768 5.9.1"
    path = tmp_path / "gas_limits.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        ChecklistFileError, match="regimes.GB46768.limits.O2: 'GB46768 5.9.1' has no"
    ):
        load_gas_limits(path)


def test_a_version_round_trips_through_its_stored_content(v2):
    from checklists.schema import TemplateSchema

    for template in v2.values():
        again = TemplateSchema().load(template.to_dict())
        assert again.content_hash() == template.content_hash()
        assert again.item(template.items[0].code).regimes == template.items[0].regimes


# --- industries, continuity, changelog -------------------------------------------------------


def test_every_industry_maps_to_a_regime_and_the_default_is_stated():
    listed = industries()
    assert listed.industries and all(i.regime in REGIMES for i in listed.industries.values())
    assert {i.regime for i in listed.industries.values()} == set(REGIMES)
    assert listed.default_regime == INDUSTRIAL and listed.default_reason["en"]
    assert listed.regime_of("C26") == HAZCHEM and listed.regime_of("E47") == CONSTRUCTION
    assert listed.regime_of(None) == listed.regime_of("ZZ") == INDUSTRIAL


def test_every_v1_item_is_continued_and_every_continued_code_existed(v1, v2):
    for code in v2:
        before = {item.code for item in v1[code].items}
        continued = {c for item in v2[code].items for c in item.continues}
        assert continued <= before, code
        assert before <= continued, code


def test_split_items_keep_their_code_on_the_closer_half(v2):
    for kept, new in (
        ("CS-04", "CS-25"),
        ("CS-14", "CS-26"),
        ("FH-11", "FH-29"),
        ("HW-12", "HW-25"),
    ):
        template = v2[kept[:2]]
        assert template.item(kept).continues == (kept,)
        assert kept in template.item(new).continues


def test_each_v2_has_a_bilingual_changelog_naming_its_items(v2):
    for template in v2.values():
        assert template.changelog and template.edition == 2
        codes = {i.code for i in template.items}
        for entry in template.changelog:
            assert set(entry.items) <= codes and entry.what.en and entry.why.zh_cn and entry.source


def test_the_missing_items_of_the_review_are_there(v2):
    counts = {code: len(t.items) for code, t in v2.items()}
    assert counts == {"CS": 34, "HW": 25, "FH": 29, "OC": 22}
