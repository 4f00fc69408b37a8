"""Plain, immutable objects for checklist templates and gas-test limits.

These are what the rest of the system works with once `checklists.loader` has read and
validated a data file: no I/O, no framework, nothing mutable. A template can give its
bilingual content as a canonical dict (hashed for versioning) or a single-locale view for a
phone or a printed notice.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

LOCALES: tuple[str, ...] = ("zh-CN", "en")
"""Every text in a data file exists in each of these locales; the first is authoritative."""

NA_ANSWER = "na"
"""The answer meaning "not applicable", for any answer type; no choice may use it as a code."""

MOLAR_VOLUME_20C = 24.04
"""Litres per mole of ideal gas at 20 °C, 101.325 kPa: ppm = mg/m3 × 24.04 / M (docs/domain.md)."""

UNIT_RANGES: Mapping[str, tuple[float, float | None]] = MappingProxyType(
    {
        # A volume fraction cannot leave 0..100.
        "%VOL": (0.0, 100.0),
        # No upper bound: a meter can read past 100 %LEL, and refusing to record a reading
        # above the explosive limit would hide the most dangerous answer of all.
        "%LEL": (0.0, None),
        "mg/m3": (0.0, None),
        "min": (0.0, None),
        "h": (0.0, None),
        "m": (0.0, None),
        "mm": (0.0, None),
    }
)
"""Units a numeric item or gas limit may use, with the physically possible (min, max)."""


class AnswerType(StrEnum):
    """How an item is answered on the phone."""

    YES_NO_NA = "yes_no_na"
    NUMERIC = "numeric"
    TEXT = "text"
    CHOICE = "choice"


@dataclass(frozen=True)
class LocalizedText:
    """One text in every locale of `LOCALES`."""

    zh_cn: str
    en: str

    def get(self, locale: str) -> str:
        """The text in `locale` ("zh-CN" or "en")."""
        if locale == "zh-CN":
            return self.zh_cn
        if locale == "en":
            return self.en
        raise ValueError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")

    def to_dict(self) -> dict[str, str]:
        """Both locales, keyed as in the data files."""
        return {"zh-CN": self.zh_cn, "en": self.en}


@dataclass(frozen=True)
class PassRule:
    """Inclusive bounds a measured value must fall within, and the rule they come from."""

    min: float | None
    max: float | None
    source: str

    def admits(self, value: float) -> bool:
        """True when `value` is within the inclusive bounds."""
        if self.min is not None and value < self.min:
            return False
        return self.max is None or value <= self.max

    def to_dict(self) -> dict[str, Any]:
        """Bounds and source as a JSON-able dict."""
        return {"min": self.min, "max": self.max, "source": self.source}


@dataclass(frozen=True)
class Choice:
    """One option of a `choice` item and whether picking it counts as a pass."""

    code: str
    text: LocalizedText
    passes: bool

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """JSON-able dict, bilingual or collapsed to `locale`."""
        return {"code": self.code, "text": _text(self.text, locale), "passes": self.passes}


@dataclass(frozen=True)
class MajorHazard:
    """When a failed item is a major hazard (重大事故隐患), and under which criterion."""

    criterion: str
    condition: LocalizedText

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """JSON-able dict, bilingual or collapsed to `locale`."""
        return {"criterion": self.criterion, "condition": _text(self.condition, locale)}


@dataclass(frozen=True)
class ChecklistItem:
    """One row of a checklist: what is asked, how it is answered and why it is asked."""

    code: str
    text: LocalizedText
    answer: AnswerType
    legal_basis: tuple[str, ...]
    photo_required_on_fail: bool
    verification: str
    allow_na: bool = False
    unit: str | None = None
    pass_rule: PassRule | None = None
    choices: tuple[Choice, ...] = ()
    note: LocalizedText | None = None
    major_hazard: MajorHazard | None = None

    def choice(self, code: str) -> Choice | None:
        """The option with `code`, or None."""
        return next((c for c in self.choices if c.code == code), None)

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """JSON-able dict with every field, bilingual or collapsed to `locale`."""
        return {
            "code": self.code,
            "text": _text(self.text, locale),
            "answer": self.answer.value,
            "allow_na": self.allow_na,
            "unit": self.unit,
            "pass_rule": self.pass_rule.to_dict() if self.pass_rule else None,
            "choices": [c.to_dict(locale) for c in self.choices],
            "note": _text(self.note, locale) if self.note else None,
            "legal_basis": list(self.legal_basis),
            "major_hazard": self.major_hazard.to_dict(locale) if self.major_hazard else None,
            "photo_required_on_fail": self.photo_required_on_fail,
            "verification": self.verification,
        }


@dataclass(frozen=True)
class ChecklistTemplate:
    """A campaign's checklist (CS, HW, FH or OC): bilingual texts, sources and items."""

    code: str
    title: LocalizedText
    description: LocalizedText
    sources: Mapping[str, str] = field(hash=False)
    items: tuple[ChecklistItem, ...]

    def item(self, code: str) -> ChecklistItem:
        """The item with `code`; KeyError if there is none."""
        return self._by_code[code]

    @cached_property
    def _by_code(self) -> Mapping[str, ChecklistItem]:
        # Every answer of every pushed inspection looks its item up.
        return {item.code: item for item in self.items}

    def to_dict(self) -> dict[str, Any]:
        """The full bilingual content as a JSON-able dict."""
        return self._as_dict(None)

    def localized(self, locale: str) -> dict[str, Any]:
        """A JSON-able view with every text collapsed to `locale`; other fields unchanged."""
        if locale not in LOCALES:
            raise ValueError(f"unknown locale {locale!r}; expected one of {', '.join(LOCALES)}")
        return {"locale": locale, **self._as_dict(locale)}

    def content_hash(self) -> str:
        """SHA-256 hex of the canonical JSON of `to_dict()`: same content, same hash."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def _as_dict(self, locale: str | None) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": _text(self.title, locale),
            "description": _text(self.description, locale),
            "sources": dict(self.sources),
            "items": [item.to_dict(locale) for item in self.items],
        }


@dataclass(frozen=True)
class GasParam:
    """A measured gas parameter, its unit and reference values (e.g. MAC, IDLH)."""

    code: str
    unit: str
    name: LocalizedText
    reference: Mapping[str, float] = field(hash=False)
    source: str | None = None
    molar_mass: float | None = None

    def ppm_from_mg_m3(self, mg_m3: float) -> float:
        """Convert a mg/m3 reading to ppm at 20 °C, as most meters display it."""
        if self.molar_mass is None:
            raise ValueError(f"{self.code} has no molar mass; cannot convert to ppm")
        return mg_m3 * MOLAR_VOLUME_20C / self.molar_mass


@dataclass(frozen=True)
class GasLimit:
    """A named pass rule on one parameter within a regime, e.g. hazchem O2 19.5–21 %VOL."""

    name: str
    param: str
    rule: PassRule
    note: LocalizedText | None = None


@dataclass(frozen=True)
class Duration:
    """A time rule (test-to-entry window, logging interval, ...) with its source."""

    value: float
    unit: str
    source: str

    @property
    def minutes(self) -> float:
        """The duration in minutes."""
        return self.value * 60 if self.unit == "h" else self.value


@dataclass(frozen=True)
class GasRegime:
    """The gas-test rules of one standard, e.g. GB46768 (general) or GB30871 (hazchem)."""

    code: str
    scope: LocalizedText
    limits: Mapping[str, GasLimit] = field(hash=False)
    timings: Mapping[str, Duration] = field(hash=False)

    def admits(self, limit_name: str, value: float) -> bool:
        """True when `value` passes the limit called `limit_name`; KeyError if unknown."""
        if not math.isfinite(value):
            return False
        return self.limits[limit_name].rule.admits(value)


@dataclass(frozen=True)
class GasLimits:
    """All gas-test rules (data/gas_limits.yaml): parameters, the minimum set to test, regimes."""

    sources: Mapping[str, str] = field(hash=False)
    params: Mapping[str, GasParam] = field(hash=False)
    minimum_set: tuple[str, ...]
    minimum_set_source: str
    default_regime: str
    regimes: Mapping[str, GasRegime] = field(hash=False)

    @property
    def general(self) -> GasRegime:
        """The regime for firms outside the hazchem scope of GB30871."""
        return self.regimes[self.default_regime]


def _text(text: LocalizedText, locale: str | None) -> str | dict[str, str]:
    return text.to_dict() if locale is None else text.get(locale)
