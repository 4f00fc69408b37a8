"""Tests for checklists.loader: the shipped data, content hashing and every validation error."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from checklists.loader import (
    DATA_DIR,
    EDITIONS_DIR,
    ChecklistFileError,
    load_editions,
    load_gas_limits,
    load_templates,
)
from checklists.loader import load_template as _load_template
from checklists.template import LOCALES, AnswerType, ChecklistTemplate


def load_template(path):
    """These tests read first-edition (format 1) files: the shape every version 1 keeps;
    format 2, the per-fact tags and the regimes are tested in test_v2.py."""
    return _load_template(path, archived=True)


EXPECTED_ITEM_COUNTS = {"CS": 22, "HW": 19, "FH": 17, "OC": 16}


@pytest.fixture(scope="module")
def templates() -> dict[str, ChecklistTemplate]:
    """The first editions, as published in version 1."""
    return {code: history[0] for code, history in load_editions().items()}


def minimal_template() -> dict[str, Any]:
    """A small valid template; each validation test breaks one thing in it."""
    return {
        "code": "CS",
        "title": {"zh-CN": "有限空间", "en": "Confined spaces"},
        "description": {"zh-CN": "测试", "en": "Test"},
        "sources": {"M13": "令13号", "M10": "令10号", "GB46768": "GB 46768-2025"},
        "items": [
            {
                "code": "CS-01",
                "text": {"zh-CN": "已建台账", "en": "Register kept"},
                "answer": "yes_no_na",
                "legal_basis": ["M13 Art.6"],
                "major_hazard": {
                    "criterion": "M10 Art.13(1)",
                    "condition": {"zh-CN": "与CS-02同时不合格", "en": "With CS-02"},
                },
                "photo_required_on_fail": True,
                "verification": "V",
            },
            {
                "code": "CS-09",
                "text": {"zh-CN": "氧含量", "en": "Oxygen"},
                "answer": "numeric",
                "unit": "%VOL",
                "pass_rule": {"min": 19.5, "max": 23.5, "source": "GB46768 5.9.1"},
                "legal_basis": ["GB46768 5.9.1"],
                "photo_required_on_fail": True,
                "verification": "V",
            },
        ],
    }


def write_yaml(directory: Path, data: Any, name: str = "CS.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the shipped data ------------------------------------------------------------------------


def test_the_four_shipped_templates_load_with_every_row(templates):
    assert {code: len(t.items) for code, t in templates.items()} == EXPECTED_ITEM_COUNTS
    assert all(len(t.items) >= 15 for t in templates.values())


def test_item_codes_are_unique_sequential_and_prefixed(templates):
    for code, template in templates.items():
        expected = [f"{code}-{n:02d}" for n in range(1, EXPECTED_ITEM_COUNTS[code] + 1)]
        assert [item.code for item in template.items] == expected


def test_every_item_has_a_legal_basis_and_every_text_both_locales(templates):
    for template in templates.values():
        for item in template.items:
            assert item.legal_basis, item.code
            assert item.text.zh_cn.strip() and item.text.en.strip(), item.code


def test_every_template_has_at_least_one_major_hazard_item(templates):
    for template in templates.values():
        assert any(item.major_hazard for item in template.items), template.code


def test_major_hazard_rows_follow_the_domain_tables(templates):
    majors = {
        code: sorted(i.code for i in t.items if i.major_hazard) for code, t in templates.items()
    }
    assert majors == {
        "CS": ["CS-01", "CS-02", "CS-04", "CS-06", "CS-07", "CS-14"],
        "HW": ["HW-03"],
        "FH": ["FH-03", "FH-11", "FH-12", "FH-13", "FH-14"],
        "OC": ["OC-01", "OC-03", "OC-05", "OC-06", "OC-08", "OC-09", "OC-13", "OC-14"],
    }
    assert templates["CS"].item("CS-04").major_hazard.criterion == "M10 Art.13(2)"
    assert "CS-02" in templates["CS"].item("CS-01").major_hazard.condition.en


@pytest.mark.parametrize(
    ("code", "unit", "low", "high"),
    [
        ("CS-08", "min", None, 30),
        ("CS-09", "%VOL", 19.5, 23.5),
        ("CS-10", "%LEL", None, 10),
        ("CS-11", "mg/m3", None, 10),
        ("CS-12", "mg/m3", None, 30),
        ("HW-07", "min", None, 30),
        ("HW-11", "m", 5, None),
        ("HW-12", "m", None, 10),
    ],
)
def test_numeric_pass_rules_match_the_domain_tables(templates, code, unit, low, high):
    item = templates[code[:2]].item(code)
    assert (item.answer, item.unit) == (AnswerType.NUMERIC, unit)
    assert (item.pass_rule.min, item.pass_rule.max) == (low, high)


def test_table_na_rows_allow_na_and_core_items_do_not(templates):
    for code in ("FH-12", "FH-13", "FH-14", "OC-08"):
        assert templates[code[:2]].item(code).allow_na, code
    for code in ("CS-04", "CS-06", "CS-07", "CS-09", "HW-03", "FH-03"):
        assert not templates[code[:2]].item(code).allow_na, code


def test_gas_limits_load_with_sources():
    limits = load_gas_limits()
    general = limits.general
    assert limits.default_regime == "GB46768"
    assert limits.minimum_set == ("O2", "LEL", "H2S", "CO")
    assert (general.limits["O2"].rule.min, general.limits["O2"].rule.max) == (19.5, 23.5)
    assert general.limits["O2"].rule.source == "GB46768 5.9.1 [S]"
    assert limits.regimes["GB30871_confined"].limits["O2"].rule.max == 21
    assert limits.regimes["GB30871_hot"].limits["flammable_lel_lt_4"].rule.max == 0.2
    assert general.timings["pre_entry_window"].minutes == 30
    assert general.timings["monitoring_log_interval"].minutes == 15
    assert limits.regimes["GB30871_confined"].timings["monitoring_log_interval"].minutes == 120
    assert general.admits("O2", 19.5) and not general.admits("O2", 19.4)
    assert limits.params["H2S"].ppm_from_mg_m3(10) == pytest.approx(7.05, abs=0.01)


def test_checklist_gas_items_repeat_the_general_gas_limits(templates):
    # The same limit is written twice (item and gas_limits.yaml); this keeps them equal.
    general = load_gas_limits().general
    for code, param in (("CS-09", "O2"), ("CS-10", "LEL"), ("CS-11", "H2S"), ("CS-12", "CO")):
        item, limit = templates["CS"].item(code), general.limits[param]
        assert (item.pass_rule.min, item.pass_rule.max) == (limit.rule.min, limit.rule.max)
        assert item.unit == load_gas_limits().params[param].unit
    assert templates["CS"].item("CS-08").pass_rule.max == general.timings["pre_entry_window"].value


# --- views and hashing -----------------------------------------------------------------------


def test_localized_view_collapses_texts_and_keeps_other_fields(templates):
    template = templates["CS"]
    for locale in LOCALES:
        view = template.localized(locale)
        json.dumps(view)  # JSON-able
        assert view["locale"] == locale
        assert view["title"] == template.title.get(locale)
        item = view["items"][8]
        assert item["code"] == "CS-09" and item["text"] == template.item("CS-09").text.get(locale)
        assert item["pass_rule"] == {"min": 19.5, "max": 23.5, "source": "GB46768 5.9.1"}
        assert item["unit"] == "%VOL" and item["photo_required_on_fail"] is True
        assert view["items"][0]["major_hazard"]["criterion"] == "M10 Art.13(1)"
        assert isinstance(view["items"][0]["major_hazard"]["condition"], str)
    bilingual = template.to_dict()
    assert bilingual["items"][0]["text"] == {
        "zh-CN": template.items[0].text.zh_cn,
        "en": template.items[0].text.en,
    }


def test_localized_rejects_an_unknown_locale(templates):
    with pytest.raises(ValueError, match="unknown locale 'fr'"):
        templates["CS"].localized("fr")


def test_content_hash_is_stable_and_ignores_key_order(tmp_path, templates):
    shipped = templates["HW"].content_hash()
    assert re.fullmatch(r"[0-9a-f]{64}", shipped)
    assert load_template(DATA_DIR / EDITIONS_DIR / "HW.1.yaml").content_hash() == shipped
    raw = yaml.safe_load((DATA_DIR / EDITIONS_DIR / "HW.1.yaml").read_text(encoding="utf-8"))
    path = tmp_path / "HW.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=True), encoding="utf-8")
    assert load_template(path).content_hash() == shipped


def test_content_hash_changes_when_a_text_changes(tmp_path, templates):
    text = (DATA_DIR / EDITIONS_DIR / "CS.1.yaml").read_text(encoding="utf-8")
    changed = text.replace("en: Oxygen\n", "en: Oxygen content\n")
    assert changed != text
    (tmp_path / "CS.yaml").write_text(changed, encoding="utf-8")
    assert load_template(tmp_path / "CS.yaml").content_hash() != templates["CS"].content_hash()


def minimal_v2() -> dict[str, Any]:
    """The minimal template in format 2: every fact tagged, no tag on the item."""
    data = minimal_template()
    data["format"] = 2
    for item in data["items"]:
        item.pop("verification")
        item["legal_basis"] = [f"{basis} [V]" for basis in item["legal_basis"]]
        if "pass_rule" in item:
            item["pass_rule"]["source"] += " [S]"
        if "major_hazard" in item:
            item["major_hazard"]["criterion"] += " [S]"
    return data


def test_load_templates_reads_a_directory_and_skips_the_other_data(tmp_path):
    write_yaml(tmp_path, minimal_v2())
    for name in ("gas_limits.yaml", "industries.yaml"):
        (tmp_path / name).write_text((DATA_DIR / name).read_text(encoding="utf-8"), "utf-8")
    assert list(load_templates(tmp_path)) == ["CS"]


def test_load_templates_on_an_empty_directory_fails(tmp_path):
    with pytest.raises(ChecklistFileError, match="no template files"):
        load_templates(tmp_path)


# --- validation failures ---------------------------------------------------------------------


def _item(data: dict[str, Any], index: int) -> dict[str, Any]:
    return data["items"][index]


def _min_over_max(data: dict[str, Any]) -> None:
    _item(data, 1)["pass_rule"].update(min=30, max=10)


BROKEN: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    ("no unit", lambda d: _item(d, 1).pop("unit"), "item CS-09: numeric answer needs a unit"),
    ("unknown unit", lambda d: _item(d, 1).update(unit="ppb"), "item CS-09: unit 'ppb' is not"),
    (
        "no pass rule",
        lambda d: _item(d, 1).pop("pass_rule"),
        "item CS-09: numeric answer needs a pass_rule",
    ),
    (
        "no bounds",
        lambda d: _item(d, 1).update(pass_rule={"source": "GB46768 5.9.1"}),
        "item CS-09: pass_rule: needs at least one of min, max",
    ),
    ("min over max", _min_over_max, "item CS-09: pass_rule: min 30 is greater than max 10"),
    (
        "impossible bound",
        lambda d: _item(d, 1)["pass_rule"].update(max=150),
        "item CS-09: pass_rule bound 150 is physically impossible in %VOL",
    ),
    (
        "quoted number",
        lambda d: _item(d, 1)["pass_rule"].update(min="19.5"),
        "item CS-09: pass_rule.min: Not a valid number.",
    ),
    (
        "yes/no with unit",
        lambda d: _item(d, 0).update(unit="m"),
        "item CS-01: yes_no_na answer takes no unit",
    ),
    (
        "yes/no with bounds",
        lambda d: _item(d, 0).update(pass_rule={"max": 1, "source": "M13"}),
        "item CS-01: yes_no_na answer takes no pass_rule",
    ),
    (
        "duplicate code",
        lambda d: _item(d, 1).update(code="CS-01"),
        "item CS-01: duplicate code (first used by item #1)",
    ),
    (
        "wrong prefix",
        lambda d: _item(d, 1).update(code="HW-09"),
        "item HW-09: code must start with 'CS-'",
    ),
    (
        "malformed code",
        lambda d: _item(d, 1).update(code="CS9"),
        "item CS9: code: must be like CS-09",
    ),
    (
        "missing code",
        lambda d: _item(d, 1).pop("code"),
        "item #2: code: Missing data for required field.",
    ),
    (
        "missing locale",
        lambda d: _item(d, 0)["text"].pop("en"),
        "item CS-01: text.en: Missing data for required field.",
    ),
    (
        "blank locale",
        lambda d: _item(d, 0)["text"].update({"zh-CN": "  "}),
        "item CS-01: text.zh-CN: must not be blank",
    ),
    (
        "blank note",
        lambda d: _item(d, 0).update(note={"zh-CN": "注", "en": ""}),
        "item CS-01: note.en: must not be blank",
    ),
    ("blank title", lambda d: d["title"].update(en=""), "CS.yaml: title.en: must not be blank"),
    (
        "blank criterion",
        lambda d: _item(d, 0)["major_hazard"].update(criterion=" "),
        "item CS-01: major_hazard.criterion: must not be blank",
    ),
    (
        "no condition",
        lambda d: _item(d, 0)["major_hazard"].pop("condition"),
        "item CS-01: major_hazard.condition: Missing data for required field.",
    ),
    (
        "unknown source",
        lambda d: _item(d, 0).update(legal_basis=["XX Art.1"]),
        "item CS-01: legal_basis: 'XX Art.1' cites 'XX', which is not in sources",
    ),
    (
        "unknown criterion source",
        lambda d: _item(d, 0)["major_hazard"].update(criterion="HS22"),
        "item CS-01: major_hazard.criterion: 'HS22' cites 'HS22', which is not in sources",
    ),
    (
        "unknown rule source",
        lambda d: _item(d, 1)["pass_rule"].update(source="GB46768 1; X 2"),
        "item CS-09: pass_rule.source: 'GB46768 1; X 2' cites 'X', which is not in sources",
    ),
    (
        "empty legal basis",
        lambda d: _item(d, 0).update(legal_basis=[]),
        "item CS-01: legal_basis: Shorter than minimum length 1.",
    ),
    (
        "unknown field",
        lambda d: _item(d, 0).update(colour="red"),
        "item CS-01: colour: Unknown field.",
    ),
    (
        "unknown answer",
        lambda d: _item(d, 0).update(answer="maybe"),
        "item CS-01: answer: Must be one of: yes_no_na, numeric, text, choice, gas_reading.",
    ),
    (
        "loose boolean",
        lambda d: _item(d, 0).update(photo_required_on_fail="Y"),
        "item CS-01: photo_required_on_fail: Not a valid boolean.",
    ),
    (
        "bad verification",
        lambda d: _item(d, 0).update(verification="X"),
        "item CS-01: verification: must be V, S, I or a mix like V/S",
    ),
    ("no items", lambda d: d.update(items=[]), "CS.yaml: items: Shorter than minimum length 1."),
    (
        "dotted source ID",
        lambda d: d["sources"].update({"GBZ2.1": "GBZ 2.1"}),
        "CS.yaml: sources.GBZ2.1.key: source IDs use letters, digits and '-' only",
    ),
    (
        "code not the file name",
        lambda d: d.update(code="HW"),
        "CS.yaml: code: 'HW' does not match the file name",
    ),
    (
        "choice with one option",
        lambda d: _item(d, 0).update(
            answer="choice",
            major_hazard=None,
            choices=[{"code": "I", "text": {"zh-CN": "一", "en": "one"}, "passes": True}],
        ),
        "item CS-01: choice answer needs at least two choices",
    ),
    (
        "choice never passes",
        lambda d: _item(d, 0).update(
            answer="choice",
            choices=[
                {"code": "a", "text": {"zh-CN": "甲", "en": "a"}, "passes": False},
                {"code": "b", "text": {"zh-CN": "乙", "en": "b"}, "passes": False},
            ],
        ),
        "item CS-01: choice answer needs at least one choice that passes",
    ),
    (
        "choice uses na",
        lambda d: _item(d, 0).update(
            answer="choice",
            choices=[
                {"code": "a", "text": {"zh-CN": "甲", "en": "a"}, "passes": True},
                {"code": "na", "text": {"zh-CN": "乙", "en": "b"}, "passes": False},
            ],
        ),
        "item CS-01: choice code 'na' is reserved for 'not applicable'",
    ),
    (
        "choices on yes/no",
        lambda d: _item(d, 0).update(
            choices=[{"code": "a", "text": {"zh-CN": "甲", "en": "a"}, "passes": True}]
        ),
        "item CS-01: yes_no_na answer takes no choices",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_a_broken_template_names_file_item_and_field(tmp_path, mutate, expected):
    data = copy.deepcopy(minimal_template())
    mutate(data)
    path = write_yaml(tmp_path, data)
    with pytest.raises(ChecklistFileError) as caught:
        load_template(path)
    assert expected in str(caught.value)
    assert all(line.startswith("CS.yaml: ") for line in str(caught.value).splitlines())


def test_the_minimal_template_itself_is_valid(tmp_path):
    template = load_template(write_yaml(tmp_path, minimal_template()))
    assert [item.code for item in template.items] == ["CS-01", "CS-09"]


def test_the_error_message_matches_the_documented_form(tmp_path):
    data = minimal_template()
    del data["items"][1]["unit"]
    with pytest.raises(ChecklistFileError) as caught:
        load_template(write_yaml(tmp_path, data))
    assert str(caught.value) == "CS.yaml: item CS-09: numeric answer needs a unit"
    assert caught.value.file == "CS.yaml"
    assert caught.value.problems == ("item CS-09: numeric answer needs a unit",)


def test_every_problem_in_a_file_is_reported(tmp_path):
    data = minimal_template()
    data["items"][0]["text"]["en"] = ""
    data["items"][1]["verification"] = "Q"
    with pytest.raises(ChecklistFileError) as caught:
        load_template(write_yaml(tmp_path, data))
    assert len(caught.value.problems) == 2


def test_an_unquoted_comma_in_a_flow_list_is_caught(tmp_path):
    # YAML splits [GB46768 5.8.6, 5.8.7] into two entries; the second cites no source.
    text = yaml.safe_dump(minimal_template(), allow_unicode=True, sort_keys=False)
    text = text.replace("  - M13 Art.6\n", "  - M13 Art.6\n  - 5.8.7\n", 1)
    (tmp_path / "CS.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ChecklistFileError, match=r"item CS-01: legal_basis: '5\.8\.7' cites"):
        load_template(tmp_path / "CS.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("code: CS\ncode: HW\n", "CS.yaml: not valid YAML: duplicate key 'code'"),
        ("code: [CS\n", "CS.yaml: not valid YAML:"),
        ("- CS\n", "CS.yaml: the top level must be a mapping"),
        ("", "CS.yaml: the top level must be a mapping"),
    ],
)
def test_unparseable_files_fail_with_the_file_name(tmp_path, text, expected):
    (tmp_path / "CS.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ChecklistFileError, match=re.escape(expected)):
        load_template(tmp_path / "CS.yaml")


def test_a_missing_file_fails_with_the_file_name(tmp_path):
    with pytest.raises(ChecklistFileError, match=r"^CS\.yaml: cannot read"):
        load_template(tmp_path / "CS.yaml")


# --- broken gas limits -----------------------------------------------------------------------


def _shipped_gas_limits() -> dict[str, Any]:
    return yaml.safe_load((DATA_DIR / "gas_limits.yaml").read_text(encoding="utf-8"))


def _o2(data: dict[str, Any]) -> dict[str, Any]:
    return data["regimes"]["GB46768"]["limits"]["O2"]


BROKEN_GAS: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    (
        "min over max",
        lambda d: _o2(d).update(min=25),
        "regimes.GB46768.limits.O2: min 25 is greater than max 23.5",
    ),
    (
        "impossible bound",
        lambda d: _o2(d).update(max=120),
        "regimes.GB46768.limits.O2: bound 120 is physically impossible in %VOL",
    ),
    (
        "unknown param",
        lambda d: _o2(d).update(param="O3"),
        "regimes.GB46768.limits.O2: unknown param 'O3'",
    ),
    (
        "unknown source",
        lambda d: _o2(d).update(source="XYZ 1"),
        "regimes.GB46768.limits.O2: 'XYZ 1' cites 'XYZ', which is not in sources",
    ),
    (
        "no source",
        lambda d: _o2(d).pop("source"),
        "regimes.GB46768.limits.O2.source: Missing data for required field.",
    ),
    (
        "blank source",
        lambda d: _o2(d).update(source=" "),
        "regimes.GB46768.limits.O2.source: must not be blank",
    ),
    (
        "unknown default",
        lambda d: d.update(default_regime="OSHA"),
        "default_regime: no regime called 'OSHA'",
    ),
    (
        "bad timing unit",
        lambda d: d["regimes"]["GB46768"]["timings"]["pre_entry_window"].update(unit="s"),
        "regimes.GB46768.timings.pre_entry_window.unit: Must be one of: min, h.",
    ),
    (
        "unknown minimum param",
        lambda d: d["minimum_set"]["params"].append("XE"),
        "minimum_set.params: unknown param 'XE'",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"), [c[1:] for c in BROKEN_GAS], ids=[c[0] for c in BROKEN_GAS]
)
def test_broken_gas_limits_name_the_file_and_the_rule(tmp_path, mutate, expected):
    data = _shipped_gas_limits()
    mutate(data)
    path = write_yaml(tmp_path, data, name="gas_limits.yaml")
    with pytest.raises(ChecklistFileError) as caught:
        load_gas_limits(path)
    assert f"gas_limits.yaml: {expected}" in str(caught.value).splitlines()
