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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import Any

LOCALES: tuple[str, ...] = ("zh-CN", "en")
"""Every text in a data file exists in each of these locales; the first is authoritative."""

FLAMMABLE = "FLAMMABLE"
"""The `gas` of an item measuring whichever flammable gas is present (the reading names it)."""

NA_ANSWER = "na"
"""The answer meaning "not applicable", for any answer type; no choice may use it as a code."""

MOLAR_VOLUME_20C = 24.04
"""Litres per mole of ideal gas at 20 °C, 101.325 kPa: ppm = mg/m3 × 24.04 / M (docs/domain.md).
At 25 °C (24.45 L) a ppm limit reads higher; 20 °C is the stricter reading, so it is the one."""

FORMAT = 2
"""The data-file format the loader writes: facts carry verification tags, items word their
rules per regime. Format 1 (the first editions, `data/editions/*.1.yaml`) had one tag per item;
its published versions are still read, and judged, exactly as they were."""

TAGS = ("V", "S", "M", "I")
"""Verification of a fact (docs/domain.md, "Verification"): V read in full text, S secondary
source, M recalled and not re-read (unsure), I inferred: our modelling choice."""

_TAG = re.compile(r"\[(?P<tags>[VSMI](?:/[VSMI])*)(?P<unsure>, UNSURE)?\]$")


def citation_parts(citation: str) -> list[str]:
    """The ';'-separated citations of one fact."""
    return [part.strip() for part in citation.split(";") if part.strip()]


def part_tag(part: str) -> str | None:
    """The tag a single citation ends with ("V", "M/S", "S, UNSURE"), or None."""
    found = _TAG.search(part.strip())
    if found is None:
        return None
    return found["tags"] + (", UNSURE" if found["unsure"] else "")


def untagged_parts(citation: str) -> list[str]:
    """The citations of a fact that carry no verification tag."""
    return [part for part in citation_parts(citation) if part_tag(part) is None]


def is_unsure(citation: str) -> bool:
    """A fact is unsure when any of its citations is recalled (M) or marked UNSURE."""
    return any(
        "M" in (tag := part_tag(part) or "") or "UNSURE" in tag for part in citation_parts(citation)
    )


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
        "ppm": (0.0, 1_000_000.0),
    }
)
"""Units a numeric item or gas limit may use, with the physically possible (min, max)."""


class AnswerType(StrEnum):
    """How an item is answered on the phone."""

    YES_NO_NA = "yes_no_na"
    NUMERIC = "numeric"
    TEXT = "text"
    CHOICE = "choice"
    #: A gas concentration, in any unit that fits the gas (checklists.gas).
    GAS_READING = "gas_reading"


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
class AltitudeBand:
    """A tighter upper bound from `from_m` metres of site altitude up (to `to_m`, inclusive)."""

    from_m: float
    max: float
    source: str
    to_m: float | None = None

    def covers(self, altitude_m: float) -> bool:
        return altitude_m >= self.from_m and (self.to_m is None or altitude_m <= self.to_m)

    def to_dict(self) -> dict[str, Any]:
        return {"from_m": self.from_m, "to_m": self.to_m, "max": self.max, "source": self.source}


@dataclass(frozen=True)
class LelRule:
    """GB 30871 5.3.2's two limits: the upper bound becomes `max` for a gas whose LEL is at
    least `at_least` %VOL; a gas whose LEL is lower, or unknown, keeps the stricter bound."""

    at_least: float
    max: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"at_least": self.at_least, "max": self.max, "source": self.source}


@dataclass(frozen=True)
class PassRule:
    """Inclusive bounds a measured value must fall within, and the rule they come from.

    An unsure rule may name `alternatives`: other readings of its source we could not rule
    out. A value passes only if every reading admits it: the stricter reading is enforced.
    `altitude` bands tighten the upper bound on plateau sites; `lel` relaxes it for gases with
    a high explosive limit (`bounds`)."""

    min: float | None
    max: float | None
    source: str
    alternatives: tuple[PassRule, ...] = ()
    altitude: tuple[AltitudeBand, ...] = ()
    lel: LelRule | None = None

    def bounds(
        self, *, altitude_m: float | None = None, lel: float | None = None
    ) -> tuple[float | None, float | None]:
        """The (min, max) enforced at this altitude for a gas with this LEL (%VOL)."""
        low, high = self.min, self.max
        if self.lel is not None and lel is not None and lel >= self.lel.at_least:
            high = self.lel.max
        if altitude_m is not None:
            high = _tighter_max(high, *(b.max for b in self.altitude if b.covers(altitude_m)))
        for other in self.alternatives:
            other_low, other_high = other.bounds(altitude_m=altitude_m, lel=lel)
            if other_low is not None:
                low = other_low if low is None else max(low, other_low)
            high = _tighter_max(high, other_high)
        return low, high

    def admits(self, value: float, *, altitude_m: float | None = None, lel=None) -> bool:
        """True when `value` is within the inclusive bounds enforced."""
        low, high = self.bounds(altitude_m=altitude_m, lel=lel)
        if low is not None and value < low:
            return False
        return high is None or value <= high

    def to_dict(self) -> dict[str, Any]:
        """Bounds and source as a JSON-able dict (the extras only where a rule has them)."""
        out: dict[str, Any] = {"min": self.min, "max": self.max, "source": self.source}
        if self.alternatives:
            out["alternatives"] = [a.to_dict() for a in self.alternatives]
        if self.altitude:
            out["altitude"] = [b.to_dict() for b in self.altitude]
        if self.lel:
            out["lel"] = self.lel.to_dict()
        return out


def _tighter_max(high: float | None, *others: float | None) -> float | None:
    for other in others:
        if other is not None:
            high = other if high is None else min(high, other)
    return high


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
    """When a failed item is a major hazard (重大事故隐患), and under which criterion.

    `requires`: site facts (checklists.regime.SITE_FACTS) without which a fail is a general
    hazard, e.g. M10 Art.13 binds only firms whose confined-space work carries H2S/CO
    poisoning risk. An unsure criterion makes the hazard "major, to be confirmed"."""

    criterion: str
    condition: LocalizedText
    requires: tuple[str, ...] = ()

    @property
    def to_confirm(self) -> bool:
        """The criterion is recalled or unsure: a supervisor confirms before it counts."""
        return is_unsure(self.criterion)

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """JSON-able dict, bilingual or collapsed to `locale`."""
        out = {"criterion": self.criterion, "condition": _text(self.condition, locale)}
        if part_tag(citation_parts(self.criterion)[0]) is not None:  # format 2
            out.update(requires=list(self.requires), to_confirm=self.to_confirm)
        return out


@dataclass(frozen=True)
class Unsure:
    """What is unsure about one fact of an item, and the source that would settle it."""

    field: str
    what: LocalizedText
    read: str

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        return {"field": self.field, "what": _text(self.what, locale), "read": self.read}


#: The item fields a regime may word differently.
VARIANT_FIELDS = (
    "text",
    "note",
    "pass_rule",
    "choices",
    "legal_basis",
    "major_hazard",
    "advisory",
    "photo_required_on_fail",
    "allow_na",
)


@dataclass(frozen=True)
class ChecklistItem:
    """One row of a checklist: what is asked, how it is answered and why it is asked."""

    code: str
    text: LocalizedText
    answer: AnswerType
    legal_basis: tuple[str, ...]
    photo_required_on_fail: bool
    #: Format 1 only: one tag for the whole item. Format 2 tags each fact instead.
    verification: str | None = None
    allow_na: bool = False
    unit: str | None = None
    pass_rule: PassRule | None = None
    choices: tuple[Choice, ...] = ()
    note: LocalizedText | None = None
    major_hazard: MajorHazard | None = None
    #: Codes of the previous version's items this one carries on (hazards follow them).
    continues: tuple[str, ...] = ()
    #: A failed advisory rule warns; it is not a legal fail (e.g. CS-08 at 工贸 firms).
    advisory: bool = False
    #: gas_reading items: the gas measured (a code of the template's `gases`), or FLAMMABLE.
    gas: str | None = None
    #: Regime -> the fields worded differently there, or None where the item does not apply.
    regimes: Mapping[str, Mapping[str, Any] | None] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    unsure: tuple[Unsure, ...] = ()

    @property
    def legacy(self) -> bool:
        """Read from a format-1 file: no regimes, no per-fact tags."""
        return self.verification is not None

    def choice(self, code: str) -> Choice | None:
        """The option with `code`, or None."""
        return next((c for c in self.choices if c.code == code), None)

    def applies(self, regime: str) -> bool:
        """Does the item apply under `regime`? (An item that does not is "na" there.)"""
        return self.regimes.get(regime, {}) is not None

    def for_regime(self, regime: str | None) -> ChecklistItem:
        """The item as worded under `regime` (unchanged for a format-1 item or no regime)."""
        if regime is None or self.legacy:
            return self
        worded = self._worded
        if regime not in worded:  # items are immutable: each wording is made once
            overrides = self.regimes.get(regime) or {}
            worded[regime] = replace(self, **overrides, regimes=MappingProxyType({}))
        return worded[regime]

    @cached_property
    def _worded(self) -> dict[str, ChecklistItem]:
        return {}

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        """JSON-able dict with every field, bilingual or collapsed to `locale`."""
        if self.legacy:
            return self._legacy_dict(locale)
        return {
            **{k: v for k, v in self._legacy_dict(locale).items() if k != "verification"},
            "continues": list(self.continues),
            "advisory": self.advisory,
            "gas": self.gas,
            "regimes": {
                regime: "na" if variant is None else _variant_dict(variant, locale)
                for regime, variant in self.regimes.items()
            },
            "unsure": [u.to_dict(locale) for u in self.unsure],
        }

    def _legacy_dict(self, locale: str | None) -> dict[str, Any]:
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


def _variant_dict(variant: Mapping[str, Any], locale: str | None) -> dict[str, Any]:
    out = {}
    for name, value in variant.items():
        if isinstance(value, LocalizedText):
            out[name] = _text(value, locale)
        elif isinstance(value, MajorHazard):
            out[name] = value.to_dict(locale)
        elif isinstance(value, PassRule):
            out[name] = value.to_dict()
        elif name == "choices":
            out[name] = [c.to_dict(locale) for c in value]
        elif isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class ChangeEntry:
    """One line of a version's changelog: which items, what changed, why, and the source."""

    items: tuple[str, ...]
    what: LocalizedText
    why: LocalizedText
    source: str

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        return {
            "items": list(self.items),
            "what": _text(self.what, locale),
            "why": _text(self.why, locale),
            "source": self.source,
        }


@dataclass(frozen=True)
class GasInfo:
    """What judging a gas reading needs to know of a gas (embedded in a template version)."""

    code: str
    name: LocalizedText
    unit: str
    molar_mass: float | None = None
    lel: float | None = None

    def to_dict(self, locale: str | None = None) -> dict[str, Any]:
        return {
            "name": _text(self.name, locale),
            "unit": self.unit,
            "molar_mass": self.molar_mass,
            "lel": self.lel,
        }


@dataclass(frozen=True)
class ChecklistTemplate:
    """A campaign's checklist (CS, HW, FH or OC): bilingual texts, sources and items."""

    code: str
    title: LocalizedText
    description: LocalizedText
    sources: Mapping[str, str] = field(hash=False)
    items: tuple[ChecklistItem, ...]
    format: int = 1
    #: The version number this file publishes as (format 1: 1).
    edition: int = 1
    changelog: tuple[ChangeEntry, ...] = ()
    #: The gases its gas_reading items may name, copied from gas_limits.yaml when loaded so
    #: that a published version judges readings alone, forever.
    gases: Mapping[str, GasInfo] = field(default_factory=lambda: MappingProxyType({}), hash=False)

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
        out = {
            "code": self.code,
            "title": _text(self.title, locale),
            "description": _text(self.description, locale),
            "sources": dict(self.sources),
            "items": [item.to_dict(locale) for item in self.items],
        }
        if self.format >= 2:
            out.update(
                format=self.format,
                edition=self.edition,
                changelog=[c.to_dict(locale) for c in self.changelog],
                gases={code: g.to_dict(locale) for code, g in sorted(self.gases.items())},
            )
        return out


@dataclass(frozen=True)
class GasParam:
    """A measured gas parameter, its unit and reference values (e.g. MAC, IDLH)."""

    code: str
    unit: str
    name: LocalizedText
    reference: Mapping[str, float] = field(hash=False)
    source: str | None = None
    molar_mass: float | None = None
    #: Lower explosive limit in %VOL, for flammable gases (GB 30871 5.3.2 picks the limit by it).
    lel: float | None = None
    lel_source: str | None = None

    def ppm_from_mg_m3(self, mg_m3: float) -> float:
        """Convert a mg/m3 reading to ppm at 20 °C, as most meters display it."""
        if self.molar_mass is None:
            raise ValueError(f"{self.code} has no molar mass; cannot convert to ppm")
        return mg_m3 * MOLAR_VOLUME_20C / self.molar_mass

    def embedded(self) -> dict[str, Any]:
        """What a checklist version keeps of this gas (GasInfo's fields, as data)."""
        return {
            "name": self.name.to_dict(),
            "unit": self.unit,
            "molar_mass": self.molar_mass,
            "lel": self.lel,
        }


@dataclass(frozen=True)
class GasLimit:
    """A named pass rule on one parameter within a regime, e.g. hazchem O2 19.5–21 %VOL."""

    name: str
    param: str
    rule: PassRule
    note: LocalizedText | None = None


@dataclass(frozen=True)
class Duration:
    """A time rule (test-to-entry window, logging interval, ...) with its source.
    `advisory`: good practice from a non-binding source, a warning rather than a legal fail."""

    value: float
    unit: str
    source: str
    advisory: bool = False

    @property
    def minutes(self) -> float:
        """The duration in minutes."""
        return self.value * 60 if self.unit == "h" else self.value


@dataclass(frozen=True)
class Requirement:
    """A rule with no number, e.g. GB 30871's daily gas test before hot work."""

    text: LocalizedText
    source: str
    advisory: bool = False


@dataclass(frozen=True)
class GasRegime:
    """The gas-test rules of one standard, e.g. GB46768 (general) or GB30871 (hazchem)."""

    code: str
    scope: LocalizedText
    limits: Mapping[str, GasLimit] = field(hash=False)
    timings: Mapping[str, Duration] = field(hash=False)
    requirements: Mapping[str, Requirement] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def admits(self, limit_name: str, value: float, *, altitude_m: float | None = None) -> bool:
        """True when `value` passes the limit called `limit_name`; KeyError if unknown."""
        if not math.isfinite(value):
            return False
        return self.limits[limit_name].rule.admits(value, altitude_m=altitude_m)

    def limit_for(self, param: str) -> GasLimit | None:
        """The limit of this regime on `param` named after it (e.g. "H2S"), if any."""
        found = self.limits.get(param)
        return found if found is not None and found.param == param else None


@dataclass(frozen=True)
class GasLimits:
    """All gas-test rules (data/gas_limits.yaml): parameters, the minimum set to test, regimes."""

    sources: Mapping[str, str] = field(hash=False)
    params: Mapping[str, GasParam] = field(hash=False)
    minimum_set: tuple[str, ...]
    minimum_set_source: str
    default_regime: str
    regimes: Mapping[str, GasRegime] = field(hash=False)
    #: Checklist regime (checklists.regime) -> gas regime for confined spaces and hot work.
    applies: Mapping[str, Mapping[str, str]] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )
    #: The edition of the file: published as the gas-limits version of that number.
    edition: int = 1
    changelog: tuple[ChangeEntry, ...] = ()
    #: The file as read (plain JSON values): what phones receive to decide entries offline.
    document: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), hash=False, compare=False
    )

    def content_hash(self) -> str:
        """SHA-256 of the file's canonical JSON: equal rules, equal hash."""
        encoded = json.dumps(
            self.document, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(encoded.encode("utf-8")).hexdigest()

    @property
    def general(self) -> GasRegime:
        """The regime for firms outside the hazchem scope of GB30871."""
        return self.regimes[self.default_regime]

    def flammables(self) -> dict[str, GasParam]:
        """The gases with a known LEL, for the %VOL rule of GB 30871 5.3.2."""
        return {code: p for code, p in self.params.items() if p.lel is not None}

    def embedded(self) -> dict[str, dict[str, Any]]:
        """The gases as a checklist version embeds them (`ChecklistTemplate.gases`)."""
        return {code: p.embedded() for code, p in sorted(self.params.items())}

    def regime_for(self, regime: str, work: str) -> GasRegime:
        """The gas rules that bind `work` ("confined" or "hot") under a checklist regime."""
        return self.regimes[self.applies.get(regime, {}).get(work, self.default_regime)]


def _text(text: LocalizedText, locale: str | None) -> str | dict[str, str]:
    return text.to_dict() if locale is None else text.get(locale)
