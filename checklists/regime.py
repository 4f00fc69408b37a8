"""Regimes: which body of rules an enterprise is inspected under, and the industry list that
decides it (data/industries.yaml; docs/domain.md, "Regimes").

Three regimes: 工贸 firms (`industrial`: M13, GB 46768, M10), hazchem / chemical /
pharmaceutical firms (`hazchem`: GB 30871, AQ 3067-2026) and housing and municipal
construction (`construction`: JGJ 80, HS22). An enterprise's industry code maps to one; an
admin may override it with a reason. What an inspection is judged under is `Conditions`:
the regime plus the site facts some rules depend on (altitude for plateau CO limits, H2S/CO
poisoning risk for the M10 Art.13 majors), pinned on the inspection when it is created.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

INDUSTRIAL = "industrial"
HAZCHEM = "hazchem"
CONSTRUCTION = "construction"
REGIMES: tuple[str, ...] = (INDUSTRIAL, HAZCHEM, CONSTRUCTION)
"""Every regime; checklist items word their rules per regime under these keys."""

INDUSTRIES_FILE = Path(__file__).parent / "data" / "industries.yaml"

#: Enterprise facts a major-hazard criterion may require (`major_hazard.requires`).
POISONING_RISK = "poisoning_risk"
IN_SCOPE = "in_scope"
SITE_FACTS = (POISONING_RISK, IN_SCOPE)


@dataclass(frozen=True)
class Industry:
    """One entry of the controlled list: a GB/T 4754 code, its names and its regime."""

    code: str
    name: dict[str, str]
    regime: str
    #: False when the industry lies outside the three regimes and takes the default.
    in_scope: bool = True


@dataclass(frozen=True)
class Industries:
    """The controlled list, the regimes' descriptions and the stated default."""

    regimes: Any
    industries: Any
    default_regime: str
    default_reason: dict[str, str]
    #: Gases of a space that give confined-space work the M10 Art.13 poisoning risk.
    poisoning_risk_gases: frozenset[str] = frozenset()

    def get(self, code: str | None) -> Industry | None:
        return self.industries.get(code) if code else None

    def match(self, text: str | None) -> Industry | None:
        """The listed industry a free-text industry names exactly: its code, or its name in
        either language, ignoring case, spaces and a parenthesised gloss ("非金属矿物制品业"
        names C30); None when it names none (free text is never guessed at)."""
        wanted = _plain(text or "")
        if not wanted:
            return None
        for industry in self.industries.values():
            names = (industry.code, *industry.name.values())
            if wanted in {_plain(n) for n in names} | {_plain(_GLOSS.sub("", n)) for n in names}:
                return industry
        return None

    def regime_of(self, code: str | None) -> str:
        """The regime an industry maps to (the default for None or an unlisted code)."""
        found = self.get(code)
        return found.regime if found else self.default_regime


_GLOSS = re.compile(r"[（(][^）)]*[）)]")


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


@cache
def industries() -> Industries:
    """The shipped list, read once; ValueError when it is inconsistent."""
    raw = yaml.safe_load(INDUSTRIES_FILE.read_text(encoding="utf-8"))
    problems = []
    if set(raw["regimes"]) != set(REGIMES):
        problems.append(f"regimes must be exactly {', '.join(REGIMES)}")
    if raw["default_regime"] not in REGIMES:
        problems.append(f"default_regime {raw['default_regime']!r} is not a regime")
    listed: dict[str, Industry] = {}
    for entry in raw["industries"]:
        industry = Industry(**entry)
        if industry.regime not in REGIMES:
            problems.append(f"industry {industry.code}: unknown regime {industry.regime!r}")
        if set(industry.name) != {"zh-CN", "en"}:
            problems.append(f"industry {industry.code}: needs names in zh-CN and en")
        if industry.code in listed:
            problems.append(f"industry {industry.code}: listed twice")
        listed[industry.code] = industry
    if problems:
        raise ValueError(f"{INDUSTRIES_FILE.name}: " + "; ".join(problems))
    return Industries(
        regimes=MappingProxyType(raw["regimes"]),
        industries=MappingProxyType(listed),
        default_regime=raw["default_regime"],
        default_reason=raw["default_reason"],
        poisoning_risk_gases=frozenset(raw["poisoning_risk_gases"]),
    )


@dataclass(frozen=True)
class Conditions:
    """What an inspection is judged under: its regime and the site facts rules depend on."""

    regime: str = INDUSTRIAL
    altitude_m: float | None = None
    poisoning_risk: bool | None = None
    #: Is the enterprise's industry one the regime's major-hazard criteria were written for?
    in_scope: bool = True

    def holds(self, fact: str) -> bool | None:
        """Whether a site fact holds (None: unknown)."""
        return {POISONING_RISK: self.poisoning_risk, IN_SCOPE: self.in_scope}[fact]

    def to_dict(self) -> dict[str, Any]:
        return {
            "regime": self.regime,
            "altitude_m": self.altitude_m,
            "poisoning_risk": self.poisoning_risk,
            "in_scope": self.in_scope,
        }

    @classmethod
    def from_dict(cls, raw: dict | None) -> Conditions:
        return cls(**(raw or {}))
