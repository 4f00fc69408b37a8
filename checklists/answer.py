"""Judge one answer to one checklist item: pass, fail or not applicable.

Answers arrive from phones that worked offline, so nothing about them is trusted: a value of
the wrong type or shape is refused with `AnswerError` rather than guessed at. Answer values are
JSON scalars:

- `yes_no_na`: "yes" (compliant, pass) or "no" (fail);
- `numeric`: a finite int or float in the item's unit, judged by its inclusive pass rule;
- `text`: a non-blank string; a text item records a fact and always passes;
- `choice`: the code of one of the item's choices; the choice says whether it passes;
- any type: "na" (not applicable), only where the item has `allow_na`.
"""

from __future__ import annotations

import math
from enum import StrEnum

from checklists.template import NA_ANSWER, UNIT_RANGES, AnswerType, ChecklistItem

YES = "yes"
NO = "no"

TEXT_MAX_LENGTH = 2000
"""Longest accepted text answer; a remark, not a document (attachments go through media)."""


class Outcome(StrEnum):
    """The result of one answered item."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"


class AnswerError(ValueError):
    """An answer that cannot be judged: wrong type, impossible value, unknown choice, ..."""

    def __init__(self, item_code: str, reason: str) -> None:
        self.item_code = item_code
        self.reason = reason
        super().__init__(f"item {item_code}: {reason}")


def evaluate(item: ChecklistItem, value: object) -> Outcome:
    """Judge `value` as an answer to `item`; AnswerError if it is not a valid answer."""
    if isinstance(value, str) and value == NA_ANSWER:
        if not item.allow_na:
            raise AnswerError(item.code, "'na' is not allowed: this item always applies")
        return Outcome.NOT_APPLICABLE
    if item.answer is AnswerType.YES_NO_NA:
        return _yes_no(item, value)
    if item.answer is AnswerType.NUMERIC:
        return _numeric(item, value)
    if item.answer is AnswerType.TEXT:
        return _text(item, value)
    return _choice(item, value)


def _yes_no(item: ChecklistItem, value: object) -> Outcome:
    if isinstance(value, str) and value == YES:
        return Outcome.PASS
    if isinstance(value, str) and value == NO:
        return Outcome.FAIL
    expected = "'yes', 'no' or 'na'" if item.allow_na else "'yes' or 'no'"
    raise AnswerError(item.code, f"expects {expected}, got {_show(value)}")


def _numeric(item: ChecklistItem, value: object) -> Outcome:
    # bool is an int in Python but a tapped checkbox, not a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AnswerError(item.code, f"expects a number in {item.unit}, got {_show(value)}")
    if not math.isfinite(value):
        raise AnswerError(item.code, f"expects a finite number, got {value}")
    floor, ceiling = UNIT_RANGES[item.unit]  # the loader guarantees a known unit
    if value < floor or (ceiling is not None and value > ceiling):
        raise AnswerError(item.code, f"{value:g} {item.unit} is physically impossible")
    return Outcome.PASS if item.pass_rule.admits(value) else Outcome.FAIL


def _text(item: ChecklistItem, value: object) -> Outcome:
    if not isinstance(value, str):
        raise AnswerError(item.code, f"expects a text, got {_show(value)}")
    if not value.strip():
        raise AnswerError(item.code, "expects a non-blank text")
    if len(value) > TEXT_MAX_LENGTH:
        raise AnswerError(item.code, f"text is longer than {TEXT_MAX_LENGTH} characters")
    return Outcome.PASS


def _choice(item: ChecklistItem, value: object) -> Outcome:
    choice = item.choice(value) if isinstance(value, str) else None
    if choice is None:
        codes = ", ".join(repr(c.code) for c in item.choices)
        raise AnswerError(item.code, f"expects one of {codes}, got {_show(value)}")
    return Outcome.PASS if choice.passes else Outcome.FAIL


def _show(value: object) -> str:
    """A short description of a bad value for an error message."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, bool | int | float) or value is None:
        return f"{type(value).__name__} {value!r}"
    return type(value).__name__
