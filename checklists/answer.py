"""Judge one answer to one checklist item: pass, fail or not applicable.

Answers arrive from phones that worked offline, so nothing about them is trusted: a value of
the wrong type or shape is refused with `AnswerError` rather than guessed at. Answer values are
JSON scalars:

- `yes_no_na`: "yes" (compliant, pass) or "no" (fail);
- `numeric`: a finite int or float in the item's unit, judged by its inclusive pass rule;
- `text`: a non-blank string; a text item records a fact and always passes;
- `choice`: the code of one of the item's choices; the choice says whether it passes;
- `gas_reading`: a number in the item's unit, or `{"value", "unit"}` in any unit that fits
  the gas (checklists.gas); a flammable reading judged by GB 30871 5.3.2 also names the gas
  (`"gas": "CH4"`) or its LEL (`"lel": 5.0`), else the stricter limit applies;
- any type: "na" (not applicable), only where the item has `allow_na`.

Format-2 items are judged under `Conditions` (checklists.regime): the regime picks the item's
wording and rule (an item that does not apply there is not applicable whatever the answer),
the site's altitude tightens plateau limits. A failed advisory rule warns (`WARN`) rather than
fails. `severity` says whether a fail is a major hazard, one to be confirmed, or general.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum

from checklists.gas import GasUnitError, Reading, convert, lel_of
from checklists.regime import Conditions
from checklists.template import (
    FLAMMABLE,
    NA_ANSWER,
    UNIT_RANGES,
    AnswerType,
    ChecklistItem,
    GasInfo,
)

YES = "yes"
NO = "no"

TEXT_MAX_LENGTH = 2000
"""Longest accepted text answer; a remark, not a document (attachments go through media)."""


class Outcome(StrEnum):
    """The result of one answered item."""

    PASS = "pass"
    FAIL = "fail"
    NOT_APPLICABLE = "not_applicable"
    #: An advisory rule was not met: shown as a warning, not a legal fail.
    WARN = "warn"


class Severity(StrEnum):
    """What a failed item is as a hazard."""

    MAJOR = "major"
    #: The criterion is unsure: a supervisor confirms it before any supervised listing.
    MAJOR_TO_CONFIRM = "major_to_confirm"
    GENERAL = "general"


class AnswerError(ValueError):
    """An answer that cannot be judged: wrong type, impossible value, unknown choice, ..."""

    def __init__(self, item_code: str, reason: str) -> None:
        self.item_code = item_code
        self.reason = reason
        super().__init__(f"item {item_code}: {reason}")


def evaluate(
    item: ChecklistItem,
    value: object,
    conditions: Conditions | None = None,
    gases: Mapping[str, GasInfo] | None = None,
) -> Outcome:
    """Judge `value` as an answer to `item` under `conditions` (format-2 items); AnswerError
    if it is not a valid answer. `gases`: the template's, for gas readings."""
    if conditions is not None and not item.legacy:
        if not item.applies(conditions.regime):
            return Outcome.NOT_APPLICABLE
        item = item.for_regime(conditions.regime)
    outcome = _judge(item, value, conditions, gases or {})
    return Outcome.WARN if outcome is Outcome.FAIL and item.advisory else outcome


def severity(
    item: ChecklistItem, outcome: Outcome, conditions: Conditions | None = None
) -> Severity | None:
    """A failed item's severity under `conditions` (None unless it failed)."""
    if outcome is not Outcome.FAIL:
        return None
    if conditions is not None and not item.legacy:
        item = item.for_regime(conditions.regime)
    hazard = item.major_hazard
    if hazard is None:
        return Severity.GENERAL
    if item.legacy or conditions is None:
        return Severity.MAJOR
    held = [conditions.holds(fact) for fact in hazard.requires]
    if any(h is False for h in held):
        return Severity.GENERAL
    # Unknown site facts, an unsure criterion, or a firm outside the sectors the criterion
    # was written for: major until a supervisor confirms it (safety wins).
    if hazard.to_confirm or any(h is None for h in held) or not conditions.in_scope:
        return Severity.MAJOR_TO_CONFIRM
    return Severity.MAJOR


def _judge(
    item: ChecklistItem, value: object, conditions: Conditions | None, gases: Mapping
) -> Outcome:
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
    if item.answer is AnswerType.GAS_READING:
        return _gas(item, value, conditions, gases)
    return _choice(item, value)


def _gas(item: ChecklistItem, value: object, conditions: Conditions | None, gases) -> Outcome:
    reading = _reading(item, value)
    if item.gas == FLAMMABLE:
        if reading.gas is not None and reading.gas not in gases:
            raise AnswerError(item.code, f"unknown gas {reading.gas!r}")
        if reading.gas is not None and gases[reading.gas].lel is None:
            raise AnswerError(item.code, f"{reading.gas} is not a flammable gas")
        gas = GasInfo(code="flammable gas", name=item.text, unit=item.unit)
    else:
        gas = gases.get(item.gas) or GasInfo(code=item.gas, name=item.text, unit=item.unit)
        gas = GasInfo(gas.code, gas.name, item.unit, gas.molar_mass, gas.lel)
    try:
        amount = convert(gas, reading.value, reading.unit)
    except GasUnitError as error:
        raise AnswerError(item.code, str(error)) from None
    floor, ceiling = UNIT_RANGES[item.unit]
    if amount < floor or (ceiling is not None and amount > ceiling):
        raise AnswerError(item.code, f"{reading.value:g} {reading.unit} is physically impossible")
    altitude = conditions.altitude_m if conditions else None
    lel = lel_of(reading, gases) if item.gas == FLAMMABLE else None
    return (
        Outcome.PASS
        if item.pass_rule.admits(amount, altitude_m=altitude, lel=lel)
        else Outcome.FAIL
    )


def _reading(item: ChecklistItem, value: object) -> Reading:
    if _is_number(value):
        return Reading(float(value), item.unit)
    if not isinstance(value, dict) or not _is_number(value.get("value")):
        raise AnswerError(
            item.code, f"expects a number in {item.unit} or {{value, unit}}, got {_show(value)}"
        )
    unknown = set(value) - {"value", "unit", "gas", "lel"}
    if unknown:
        raise AnswerError(item.code, f"unknown fields: {', '.join(sorted(unknown))}")
    unit = value.get("unit", item.unit)
    if not isinstance(unit, str):
        raise AnswerError(item.code, f"unit must be a text, got {_show(unit)}")
    gas, lel = value.get("gas"), value.get("lel")
    if (gas is not None or lel is not None) and item.gas != FLAMMABLE:
        raise AnswerError(item.code, f"this item measures {item.gas}; it takes no gas or lel")
    if gas is not None and not isinstance(gas, str):
        raise AnswerError(item.code, f"gas must be a gas code, got {_show(gas)}")
    if lel is not None and (not _is_number(lel) or not 0 < lel <= 100):
        raise AnswerError(item.code, f"lel must be a %VOL between 0 and 100, got {_show(lel)}")
    if not math.isfinite(value["value"]):
        raise AnswerError(item.code, f"expects a finite number, got {value['value']}")
    return Reading(float(value["value"]), unit, gas, None if lel is None else float(lel))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


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
