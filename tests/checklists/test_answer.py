"""Tests for checklists.answer.evaluate on every answer type, boundaries and bad input."""

from __future__ import annotations

import math

import pytest

from checklists.answer import TEXT_MAX_LENGTH, AnswerError, Outcome, evaluate
from checklists.loader import load_editions
from checklists.template import AnswerType, ChecklistItem, ChecklistTemplate, Choice, LocalizedText


@pytest.fixture(scope="module")
def templates() -> dict[str, ChecklistTemplate]:
    """The first editions: what every version-1 inspection is still judged by (the second
    editions' rules are tested in test_v2.py)."""
    return {code: history[0] for code, history in load_editions().items()}


@pytest.fixture
def item(templates):
    def get(code: str) -> ChecklistItem:
        return templates[code[:2]].item(code)

    return get


def test_outcomes_serialise_as_plain_strings():
    assert [o.value for o in Outcome] == ["pass", "fail", "not_applicable", "warn"]


# --- yes / no / na ---------------------------------------------------------------------------


def test_yes_passes_and_no_fails(item):
    assert evaluate(item("CS-06"), "yes") is Outcome.PASS
    assert evaluate(item("CS-06"), "no") is Outcome.FAIL


def test_na_is_not_applicable_where_allowed(item):
    assert evaluate(item("FH-12"), "na") is Outcome.NOT_APPLICABLE
    assert evaluate(item("CS-05"), "na") is Outcome.NOT_APPLICABLE


def test_na_is_refused_where_the_item_always_applies(item):
    with pytest.raises(AnswerError, match=r"^item CS-06: 'na' is not allowed"):
        evaluate(item("CS-06"), "na")


@pytest.mark.parametrize("value", ["YES", "Yes", "y", "", True, False, 1, 0, None, ["yes"]])
def test_yes_no_refuses_anything_else(item, value):
    with pytest.raises(AnswerError, match=r"^item CS-06: expects 'yes' or 'no', got"):
        evaluate(item("CS-06"), value)


def test_yes_no_error_mentions_na_when_it_is_allowed(item):
    with pytest.raises(AnswerError, match="expects 'yes', 'no' or 'na', got 'N/A'"):
        evaluate(item("FH-12"), "N/A")


# --- numeric ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "value", "outcome"),
    [
        ("CS-09", 19.5, Outcome.PASS),
        ("CS-09", 23.5, Outcome.PASS),
        ("CS-09", 20.9, Outcome.PASS),
        ("CS-09", 21, Outcome.PASS),
        ("CS-09", 19.4, Outcome.FAIL),
        ("CS-09", 23.6, Outcome.FAIL),
        ("CS-09", 0, Outcome.FAIL),
        ("CS-10", 10, Outcome.PASS),
        ("CS-10", 10.01, Outcome.FAIL),
        ("CS-10", 150, Outcome.FAIL),  # past 100 %LEL is recordable, and a fail
        ("CS-11", 0, Outcome.PASS),
        ("CS-11", 10, Outcome.PASS),
        ("CS-11", 10.5, Outcome.FAIL),
        ("CS-12", 30, Outcome.PASS),
        ("CS-12", 31, Outcome.FAIL),
        ("CS-08", 30, Outcome.PASS),
        ("CS-08", 31, Outcome.FAIL),
        ("HW-07", 30, Outcome.PASS),
        ("HW-07", 45, Outcome.FAIL),
        ("HW-08", 0.2, Outcome.PASS),
        ("HW-08", 0.3, Outcome.FAIL),
        ("HW-11", 5, Outcome.PASS),
        ("HW-11", 4.9, Outcome.FAIL),
        ("HW-12", 10, Outcome.PASS),
        ("HW-12", 12, Outcome.FAIL),
        ("FH-05", 1.2, Outcome.PASS),
        ("FH-05", 1.0, Outcome.FAIL),
    ],
)
def test_numeric_bounds_are_inclusive(item, code, value, outcome):
    assert evaluate(item(code), value) is outcome


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "expects a number in %VOL, got bool True"),
        ("20.9", "expects a number in %VOL, got '20.9'"),
        (None, "expects a number in %VOL, got NoneType None"),
        ([20.9], "expects a number in %VOL, got list"),
        (math.nan, "expects a finite number, got nan"),
        (math.inf, "expects a finite number, got inf"),
        (-math.inf, "expects a finite number, got -inf"),
        (-0.1, "-0.1 %VOL is physically impossible"),
        (100.5, "100.5 %VOL is physically impossible"),
    ],
)
def test_numeric_refuses_implausible_values(item, value, reason):
    with pytest.raises(AnswerError) as caught:
        evaluate(item("CS-09"), value)
    assert str(caught.value) == f"item CS-09: {reason}"
    assert (caught.value.item_code, caught.value.reason) == ("CS-09", reason)


def test_numeric_na_follows_allow_na(item):
    assert evaluate(item("HW-11"), "na") is Outcome.NOT_APPLICABLE
    with pytest.raises(AnswerError, match="'na' is not allowed"):
        evaluate(item("CS-09"), "na")


def test_negative_minutes_are_refused(item):
    with pytest.raises(AnswerError, match="-5 min is physically impossible"):
        evaluate(item("CS-08"), -5)


# --- text ------------------------------------------------------------------------------------


def test_text_records_a_fact_and_passes(item):
    assert evaluate(item("HW-02"), "一级，夜间作业已升级为特级") is Outcome.PASS


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "expects a non-blank text"),
        ("   ", "expects a non-blank text"),
        (3, "expects a text, got int 3"),
        (None, "expects a text, got NoneType None"),
        ("x" * (TEXT_MAX_LENGTH + 1), f"text is longer than {TEXT_MAX_LENGTH} characters"),
        ("na", "'na' is not allowed: this item always applies"),
    ],
)
def test_text_refuses_bad_values(item, value, reason):
    with pytest.raises(AnswerError) as caught:
        evaluate(item("HW-02"), value)
    assert str(caught.value) == f"item HW-02: {reason}"


# --- choice ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["I", "II", "III", "IV"])
def test_every_height_class_is_a_recorded_pass(item, code):
    assert evaluate(item("FH-01"), code) is Outcome.PASS


@pytest.mark.parametrize("value", ["V", "ii", "Ⅱ", 2, None, "na"])
def test_choice_refuses_unknown_codes(item, value):
    with pytest.raises(AnswerError, match=r"^item FH-01: "):
        evaluate(item("FH-01"), value)


def test_choice_error_lists_the_options(item):
    with pytest.raises(AnswerError, match="expects one of 'I', 'II', 'III', 'IV', got 'V'"):
        evaluate(item("FH-01"), "V")


def test_a_choice_that_does_not_pass_is_a_fail():
    text = LocalizedText(zh_cn="示例", en="example")
    item = ChecklistItem(
        code="XX-01",
        text=text,
        answer=AnswerType.CHOICE,
        legal_basis=("M13 Art.6",),
        photo_required_on_fail=True,
        verification="I",
        choices=(Choice("ok", text, passes=True), Choice("bad", text, passes=False)),
    )
    assert evaluate(item, "ok") is Outcome.PASS
    assert evaluate(item, "bad") is Outcome.FAIL


# --- the shipped data as a whole -------------------------------------------------------------


def _compliant_answer(item: ChecklistItem) -> object:
    if item.answer is AnswerType.NUMERIC:
        low, high = item.pass_rule.min, item.pass_rule.max
        return low if low is not None else high
    if item.answer is AnswerType.CHOICE:
        return next(c.code for c in item.choices if c.passes)
    return "yes" if item.answer is AnswerType.YES_NO_NA else "recorded"


def test_every_shipped_item_has_an_answer_that_passes(templates):
    for template in templates.values():
        for item in template.items:
            assert evaluate(item, _compliant_answer(item)) is Outcome.PASS, item.code
