"""marshmallow schemas for `data/gas_limits.yaml`, the gas-test rules (docs/domain.md, "Gas tests").

Same conventions as `checklists.schema`: strict fields, unknown keys rejected, cross-references
(limits to parameters, citations to `sources`) checked once the whole file has loaded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from checklists.regime import REGIMES
from checklists.schema import (
    SOURCE_ID_ERROR,
    SOURCE_ID_PATTERN,
    AltitudeBandSchema,
    ChangeEntrySchema,
    LocalizedTextSchema,
    PassRuleSchema,
    StrictBoolean,
    StrictFloat,
    StrictSchema,
    bound_problems,
    not_blank,
    unknown_citations,
)
from checklists.template import (
    UNIT_RANGES,
    Duration,
    GasLimit,
    GasLimits,
    GasParam,
    GasRegime,
    PassRule,
    Requirement,
    is_unsure,
    untagged_parts,
)

_NAME = re.compile(r"[A-Za-z0-9_]+")  # no '.': these may become MongoDB field names


class NestedMapping(fields.Field):
    """A mapping of names to nested objects, with errors keyed by name.

    fields.Dict would report errors under an extra "value" level; here a broken limit reads
    as `regimes.GB46768.limits.O2.min`.
    """

    def __init__(self, nested: type[Schema], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._schema = nested()

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValidationError("Not a valid mapping.")
        loaded, errors = {}, {}
        for key, entry in value.items():
            if not isinstance(key, str) or not _NAME.fullmatch(key):
                errors[str(key)] = ["names use only letters, digits and '_'"]
                continue
            try:
                loaded[key] = self._schema.load(entry)
            except ValidationError as error:
                errors[key] = error.messages
        if errors:
            raise ValidationError(errors)
        return MappingProxyType(loaded)


class GasParamSchema(StrictSchema):
    """A measured parameter: unit, names, reference values (with their source)."""

    unit = fields.String(required=True, validate=validate.OneOf(list(UNIT_RANGES)))
    name = fields.Nested(LocalizedTextSchema, required=True)
    molar_mass = StrictFloat(load_default=None, validate=validate.Range(min=0, min_inclusive=False))
    reference = fields.Dict(keys=fields.String(), values=StrictFloat(), load_default=dict)
    source = fields.String(load_default=None, validate=not_blank)
    lel = StrictFloat(
        load_default=None, validate=validate.Range(min=0, max=100, min_inclusive=False)
    )
    lel_source = fields.String(load_default=None, validate=not_blank)

    @validates_schema
    def _check_reference(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["reference"] and not data["source"]:
            raise ValidationError("reference values need a source")
        if (data["lel"] is None) != (data["lel_source"] is None):
            raise ValidationError("an LEL needs its lel_source, and a lel_source its LEL")


class GasLimitSchema(StrictSchema):
    """A pass rule on one parameter within a regime."""

    param = fields.String(required=True)
    min = StrictFloat(load_default=None, allow_none=True)
    max = StrictFloat(load_default=None, allow_none=True)
    source = fields.String(required=True, validate=not_blank)
    note = fields.Nested(LocalizedTextSchema, load_default=None)
    #: Other readings of an unsure source; the stricter is enforced (PassRule.alternatives).
    alternatives = fields.List(fields.Nested(PassRuleSchema), load_default=list)
    #: Plateau bounds (PassRule.altitude).
    altitude = fields.List(fields.Nested(AltitudeBandSchema), load_default=list)

    @validates_schema
    def _check_bounds(self, data: dict[str, Any], **kwargs: Any) -> None:
        if problems := bound_problems(data["min"], data["max"], None):
            raise ValidationError(problems)


class DurationSchema(StrictSchema):
    """A time rule such as the test-to-entry window."""

    value = StrictFloat(required=True, validate=validate.Range(min=0))
    unit = fields.String(required=True, validate=validate.OneOf(["min", "h"]))
    source = fields.String(required=True, validate=not_blank)
    advisory = StrictBoolean(load_default=False)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Duration:
        return Duration(**data)


class RequirementSchema(StrictSchema):
    """A rule without a number."""

    text = fields.Nested(LocalizedTextSchema, required=True)
    source = fields.String(required=True, validate=not_blank)
    advisory = StrictBoolean(load_default=False)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Requirement:
        return Requirement(**data)


class GasRegimeSchema(StrictSchema):
    """One standard's gas-test rules."""

    scope = fields.Nested(LocalizedTextSchema, required=True)
    limits = NestedMapping(GasLimitSchema, required=True)
    timings = NestedMapping(DurationSchema, load_default=lambda: MappingProxyType({}))
    requirements = NestedMapping(RequirementSchema, load_default=lambda: MappingProxyType({}))


class AppliesSchema(StrictSchema):
    """Which gas regime binds confined-space work and hot work under a checklist regime."""

    confined = fields.String(required=True)
    hot = fields.String(load_default=None, allow_none=True)


class MinimumSetSchema(StrictSchema):
    """The parameters every test must cover."""

    params = fields.List(fields.String(), required=True, validate=validate.Length(min=1))
    source = fields.String(required=True, validate=not_blank)


class GasChangeEntrySchema(ChangeEntrySchema):
    """One changelog line of the gas rules: `items` name the facts changed (`params.CO2`,
    `regimes.GB46768.limits.co`), not checklist items."""

    items = fields.List(
        fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_-]+)*$")),
        required=True,
        validate=validate.Length(min=1),
    )


class GasLimitsSchema(StrictSchema):
    """The whole gas_limits.yaml file; cross-references are checked once it has loaded."""

    edition = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    changelog = fields.List(fields.Nested(GasChangeEntrySchema), load_default=list)

    sources = fields.Dict(
        keys=fields.String(validate=validate.Regexp(SOURCE_ID_PATTERN, error=SOURCE_ID_ERROR)),
        values=fields.String(validate=not_blank),
        required=True,
        validate=validate.Length(min=1),
    )
    params = NestedMapping(GasParamSchema, required=True)
    minimum_set = fields.Nested(MinimumSetSchema, required=True)
    default_regime = fields.String(required=True)
    regimes = NestedMapping(GasRegimeSchema, required=True)
    applies = fields.Dict(
        keys=fields.String(validate=validate.OneOf(REGIMES)),
        values=fields.Nested(AppliesSchema),
        load_default=dict,
    )

    @validates_schema
    def _check_references(self, data: dict[str, Any], **kwargs: Any) -> None:
        params, sources = data["params"], data["sources"]
        errors: dict[str, Any] = {}
        for regime, applied in data["applies"].items():
            for work, name in applied.items():
                if name is not None and name not in data["regimes"]:
                    errors.setdefault(f"applies.{regime}.{work}", []).append(
                        f"no regime called {name!r}"
                    )
        if unknown := [p for p in data["minimum_set"]["params"] if p not in params]:
            errors["minimum_set"] = {"params": [f"unknown param {p!r}" for p in unknown]}
        if data["default_regime"] not in data["regimes"]:
            errors["default_regime"] = [f"no regime called {data['default_regime']!r}"]
        citations = {
            "minimum_set.source": [data["minimum_set"]["source"]],
            **{f"params.{code}": [p["source"]] for code, p in params.items() if p["source"]},
            **{
                f"params.{code}.lel": [p["lel_source"]]
                for code, p in params.items()
                if p["lel_source"]
            },
        }
        for code, regime in data["regimes"].items():
            for name, limit in regime["limits"].items():
                path = f"regimes.{code}.limits.{name}"
                citations[path] = [
                    limit["source"],
                    *(a.source for a in limit["alternatives"]),
                    *(b.source for b in limit["altitude"]),
                ]
                if limit["param"] not in params:
                    errors[path] = [f"unknown param {limit['param']!r}"]
                    continue
                unit = params[limit["param"]]["unit"]
                if problems := bound_problems(limit["min"], limit["max"], unit):
                    errors[path] = problems
            for name, timing in regime["timings"].items():
                citations[f"regimes.{code}.timings.{name}"] = [timing.source]
            for name, requirement in regime["requirements"].items():
                citations[f"regimes.{code}.requirements.{name}"] = [requirement.source]
        for path, cited in citations.items():
            if unknown := unknown_citations(cited, sources):
                errors.setdefault(path, []).extend(unknown)
            # Every fact of the gas rules carries its verification tag, as in the checklists.
            for citation in cited:
                errors.setdefault(path, []).extend(
                    f"{part!r} has no verification tag ([V], [S], [M] or [I])"
                    for part in untagged_parts(citation)
                )
            if not errors.get(path):
                errors.pop(path, None)
        if errors:
            raise ValidationError(errors)

    @post_load(pass_original=True)
    def _make(self, data: dict[str, Any], original: dict[str, Any], **kwargs: Any) -> GasLimits:
        return GasLimits(
            edition=data["edition"],
            changelog=tuple(data["changelog"]),
            document=original,
            sources=MappingProxyType(dict(data["sources"])),
            params=MappingProxyType({code: _param(code, p) for code, p in data["params"].items()}),
            minimum_set=tuple(data["minimum_set"]["params"]),
            minimum_set_source=data["minimum_set"]["source"],
            default_regime=data["default_regime"],
            regimes=MappingProxyType(
                {code: _regime(code, r) for code, r in data["regimes"].items()}
            ),
            applies=MappingProxyType(
                {regime: MappingProxyType(dict(a)) for regime, a in data["applies"].items()}
            ),
        )


def gas_facts(limits: GasLimits) -> list[tuple[str, str]]:
    """Every tagged fact of the gas rules as (path, citation), for REVIEW.md."""
    facts = [("minimum_set", limits.minimum_set_source)]
    for code, param in limits.params.items():
        if param.source:
            facts.append((f"params.{code}.reference", param.source))
        if param.lel_source:
            facts.append((f"params.{code}.lel", param.lel_source))
    for code, regime in limits.regimes.items():
        for name, limit in regime.limits.items():
            rule = limit.rule
            for source in (rule.source, *(a.source for a in rule.alternatives)):
                facts.append((f"regimes.{code}.limits.{name}", source))
            facts.extend(
                (f"regimes.{code}.limits.{name}.altitude", b.source) for b in rule.altitude
            )
        for name, timing in regime.timings.items():
            facts.append((f"regimes.{code}.timings.{name}", timing.source))
        for name, requirement in regime.requirements.items():
            facts.append((f"regimes.{code}.requirements.{name}", requirement.source))
    return facts


def unsure_gas_facts(limits: GasLimits) -> list[tuple[str, str]]:
    return [(path, citation) for path, citation in gas_facts(limits) if is_unsure(citation)]


def _param(code: str, data: Mapping[str, Any]) -> GasParam:
    return GasParam(code=code, **{**data, "reference": MappingProxyType(dict(data["reference"]))})


def _regime(code: str, data: Mapping[str, Any]) -> GasRegime:
    limits = {
        name: GasLimit(
            name=name,
            param=limit["param"],
            rule=PassRule(
                min=limit["min"],
                max=limit["max"],
                source=limit["source"],
                alternatives=tuple(limit["alternatives"]),
                altitude=tuple(limit["altitude"]),
            ),
            note=limit["note"],
        )
        for name, limit in data["limits"].items()
    }
    return GasRegime(
        code=code,
        scope=data["scope"],
        limits=MappingProxyType(limits),
        timings=data["timings"],
        requirements=data["requirements"],
    )
