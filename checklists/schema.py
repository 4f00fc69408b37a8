"""marshmallow schemas for the checklist data files: their shape and their rules.

Loading a parsed YAML document through `TemplateSchema` or `GasLimitsSchema` either returns
the plain objects of `checklists.template` or raises `ValidationError` with messages keyed by
field path; `checklists.loader` turns those into one readable error per problem. Unknown keys
are errors everywhere, and fields are strict (no "yes" for true, no "19.5" for 19.5) because a
typo in reviewed safety data must fail loudly rather than load as something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from checklists.regime import REGIMES, SITE_FACTS
from checklists.template import (
    FLAMMABLE,
    FORMAT,
    NA_ANSWER,
    UNIT_RANGES,
    AltitudeBand,
    AnswerType,
    ChangeEntry,
    ChecklistItem,
    ChecklistTemplate,
    Choice,
    GasInfo,
    LelRule,
    LocalizedText,
    MajorHazard,
    PassRule,
    Unsure,
    is_unsure,
    untagged_parts,
)

SOURCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]*$"
SOURCE_ID_ERROR = "source IDs use letters, digits and '-' only (e.g. M13, GBZ2-1)"
"""A short source ID. No '.', because published versions store the
`sources` map as a MongoDB subdocument, where a dotted key reads as a path."""

_TEMPLATE_CODE = r"[A-Z]{2,4}"
_ITEM_CODE = rf"^{_TEMPLATE_CODE}-\d{{2}}$"
_ITEM_CODE_ERROR = "must be like CS-09 (template code, two digits)"


def citation_source_ids(citation: str) -> list[str]:
    """Source IDs cited by `citation`: the first word of each ';'-separated part."""
    return [part.split()[0] for part in citation.split(";") if part.strip()]


def not_blank(value: str) -> None:
    """Validator: a string with something besides whitespace."""
    if not value.strip():
        raise ValidationError("must not be blank")


class StrictFloat(fields.Float):
    """A float that must be written as a number: a quoted "19.5" is a typo, not a value."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        if isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false only; marshmallow's default also takes "Y", "no", 1 and 0."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def bound_problems(low: float | None, high: float | None, unit: str | None) -> list[str]:
    """What is wrong with inclusive bounds `low`..`high`, physically possible in `unit`."""
    if low is None and high is None:
        return ["needs at least one of min, max"]
    problems = []
    if low is not None and high is not None and low > high:
        problems.append(f"min {low:g} is greater than max {high:g}")
    if unit in UNIT_RANGES:
        floor, ceiling = UNIT_RANGES[unit]
        for bound in (low, high):
            if bound is not None and (bound < floor or (ceiling is not None and bound > ceiling)):
                problems.append(f"bound {bound:g} is physically impossible in {unit}")
    return problems


class StrictSchema(Schema):
    """Base schema: unknown keys are errors."""

    class Meta:
        unknown = RAISE


class LocalizedTextSchema(StrictSchema):
    """A text in both locales, neither blank."""

    zh_cn = fields.String(required=True, data_key="zh-CN", validate=not_blank)
    en = fields.String(required=True, validate=not_blank)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> LocalizedText:
        return LocalizedText(**data)


class AltitudeBandSchema(StrictSchema):
    """A plateau bound: from `from_m` (to `to_m`) metres of altitude, at most `max`."""

    from_m = StrictFloat(required=True, validate=validate.Range(min=0))
    to_m = StrictFloat(load_default=None, allow_none=True)
    max = StrictFloat(required=True)
    source = fields.String(required=True, validate=not_blank)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> AltitudeBand:
        return AltitudeBand(**data)


class LelRuleSchema(StrictSchema):
    """The relaxed bound for gases whose LEL is at least `at_least` %VOL."""

    at_least = StrictFloat(required=True, validate=validate.Range(min=0, max=100))
    max = StrictFloat(required=True)
    source = fields.String(required=True, validate=not_blank)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> LelRule:
        return LelRule(**data)


class PassRuleSchema(StrictSchema):
    """Inclusive numeric bounds with the rule they come from."""

    min = StrictFloat(load_default=None, allow_none=True)
    max = StrictFloat(load_default=None, allow_none=True)
    source = fields.String(required=True, validate=not_blank)
    alternatives = fields.List(fields.Nested(lambda: PassRuleSchema()), load_default=list)
    altitude = fields.List(fields.Nested(AltitudeBandSchema), load_default=list)
    lel = fields.Nested(LelRuleSchema, load_default=None)

    @validates_schema
    def _check_bounds(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The unit lives on the item, so the physical range is checked there.
        if problems := bound_problems(data["min"], data["max"], None):
            raise ValidationError(problems)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> PassRule:
        return PassRule(
            **{
                **data,
                "alternatives": tuple(data["alternatives"]),
                "altitude": tuple(data["altitude"]),
            }
        )


class ChoiceSchema(StrictSchema):
    """One option of a choice item."""

    code = fields.String(required=True, validate=not_blank)
    text = fields.Nested(LocalizedTextSchema, required=True)
    passes = StrictBoolean(required=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Choice:
        return Choice(**data)


class MajorHazardSchema(StrictSchema):
    """When a fail is a major hazard, and under which criterion."""

    criterion = fields.String(required=True, validate=not_blank)
    condition = fields.Nested(LocalizedTextSchema, required=True)
    requires = fields.List(fields.String(validate=validate.OneOf(SITE_FACTS)), load_default=list)
    #: Computed from the criterion's tag; accepted (and ignored) so a version's content loads.
    to_confirm = StrictBoolean(load_default=None, load_only=True)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MajorHazard:
        data.pop("to_confirm", None)
        return MajorHazard(**{**data, "requires": tuple(data["requires"])})


class UnsureSchema(StrictSchema):
    """What is unsure about one fact (`field`: its path in the item), and what to read."""

    field = fields.String(required=True, validate=not_blank)
    what = fields.Nested(LocalizedTextSchema, required=True)
    read = fields.String(required=True, validate=not_blank)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Unsure:
        return Unsure(**data)


class VariantSchema(StrictSchema):
    """The fields of an item worded differently under one regime (absent: as the item)."""

    text = fields.Nested(LocalizedTextSchema)
    note = fields.Nested(LocalizedTextSchema, allow_none=True)
    pass_rule = fields.Nested(PassRuleSchema)
    choices = fields.List(fields.Nested(ChoiceSchema))
    legal_basis = fields.List(fields.String(validate=not_blank), validate=validate.Length(min=1))
    major_hazard = fields.Nested(MajorHazardSchema, allow_none=True)
    advisory = StrictBoolean()
    photo_required_on_fail = StrictBoolean()
    allow_na = StrictBoolean()

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MappingProxyType:
        return MappingProxyType(
            {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        )


class RegimeVariantField(fields.Field):
    """A regime's variant of an item, or "na" where the item does not apply there."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if value == NA_ANSWER:
            return None
        return VariantSchema().load(value)


class ItemSchema(StrictSchema):
    """One checklist row; its answer type decides which of unit, pass_rule, choices apply."""

    code = fields.String(
        required=True, validate=validate.Regexp(_ITEM_CODE, error=_ITEM_CODE_ERROR)
    )
    text = fields.Nested(LocalizedTextSchema, required=True)
    answer = fields.Enum(AnswerType, by_value=True, required=True)
    allow_na = StrictBoolean(load_default=False)
    unit = fields.String(load_default=None)
    pass_rule = fields.Nested(PassRuleSchema, load_default=None)
    choices = fields.List(fields.Nested(ChoiceSchema), load_default=list)
    note = fields.Nested(LocalizedTextSchema, load_default=None)
    legal_basis = fields.List(
        fields.String(validate=not_blank), required=True, validate=validate.Length(min=1)
    )
    major_hazard = fields.Nested(MajorHazardSchema, load_default=None, allow_none=True)
    photo_required_on_fail = StrictBoolean(required=True)
    #: Format 1 only (one tag per item); format 2 tags every fact instead.
    verification = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[VSI](/[VSI])*$", error="must be V, S, I or a mix like V/S"),
    )
    continues = fields.List(
        fields.String(validate=validate.Regexp(_ITEM_CODE, error=_ITEM_CODE_ERROR)),
        load_default=list,
    )
    advisory = StrictBoolean(load_default=False)
    gas = fields.String(load_default=None, allow_none=True)
    regimes = fields.Dict(
        keys=fields.String(validate=validate.OneOf(REGIMES)),
        values=RegimeVariantField(allow_none=True),
        load_default=dict,
    )
    unsure = fields.List(fields.Nested(UnsureSchema), load_default=list)

    @validates_schema
    def _check_answer_shape(self, data: dict[str, Any], **kwargs: Any) -> None:
        answer: AnswerType = data["answer"]
        problems = []
        if answer is AnswerType.GAS_READING:
            problems += self._numeric_problems(data["unit"], data["pass_rule"])
            if not data["gas"]:
                problems.append("gas_reading answer needs a gas")
        elif data["gas"]:
            problems.append(f"{answer} answer takes no gas")
        if answer is AnswerType.GAS_READING:
            pass
        elif answer is AnswerType.NUMERIC:
            problems += self._numeric_problems(data["unit"], data["pass_rule"])
        else:
            problems += [
                f"{answer} answer takes no {name}"
                for name in ("unit", "pass_rule")
                if data[name] is not None
            ]
        if answer is AnswerType.CHOICE:
            problems += self._choice_problems(data["choices"])
        elif data["choices"]:
            problems.append(f"{answer} answer takes no choices")
        for regime, variant in data["regimes"].items():
            if variant is None:
                continue
            if "pass_rule" in variant:
                if data["pass_rule"] is None:
                    problems.append(f"regimes.{regime}: {answer} answer takes no pass_rule")
                elif data["unit"] in UNIT_RANGES:
                    rule = variant["pass_rule"]
                    problems += [
                        f"regimes.{regime}.pass_rule {p}"
                        for p in bound_problems(rule.min, rule.max, data["unit"])
                    ]
            if "choices" in variant:
                if answer is not AnswerType.CHOICE:
                    problems.append(f"regimes.{regime}: {answer} answer takes no choices")
                else:
                    problems += [
                        f"regimes.{regime}: {p}" for p in self._choice_problems(variant["choices"])
                    ]
        if problems:
            raise ValidationError(problems)

    @staticmethod
    def _numeric_problems(unit: str | None, rule: PassRule | None) -> list[str]:
        problems = []
        if unit is None:
            problems.append("numeric answer needs a unit")
        elif unit not in UNIT_RANGES:
            problems.append(f"unit {unit!r} is not one of {', '.join(UNIT_RANGES)}")
        if rule is None:
            problems.append("numeric answer needs a pass_rule")
        elif unit in UNIT_RANGES:
            problems += [f"pass_rule {p}" for p in bound_problems(rule.min, rule.max, unit)]
        return problems

    @staticmethod
    def _choice_problems(choices: list[Choice]) -> list[str]:
        problems = []
        codes = [choice.code for choice in choices]
        if len(codes) < 2:
            problems.append("choice answer needs at least two choices")
        if len(set(codes)) != len(codes):
            problems.append("choice codes must be unique")
        if NA_ANSWER in codes:
            problems.append(f"choice code {NA_ANSWER!r} is reserved for 'not applicable'")
        if choices and not any(choice.passes for choice in choices):
            problems.append("choice answer needs at least one choice that passes")
        return problems

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ChecklistItem:
        return ChecklistItem(
            **{
                **data,
                "choices": tuple(data["choices"]),
                "legal_basis": tuple(data["legal_basis"]),
                "continues": tuple(data["continues"]),
                "regimes": MappingProxyType(dict(data["regimes"])),
                "unsure": tuple(data["unsure"]),
            }
        )


class ChangeEntrySchema(StrictSchema):
    """One changelog line."""

    items = fields.List(
        fields.String(validate=validate.Regexp(_ITEM_CODE, error=_ITEM_CODE_ERROR)),
        required=True,
        validate=validate.Length(min=1),
    )
    what = fields.Nested(LocalizedTextSchema, required=True)
    why = fields.Nested(LocalizedTextSchema, required=True)
    source = fields.String(required=True, validate=not_blank)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ChangeEntry:
        return ChangeEntry(**{**data, "items": tuple(data["items"])})


class GasInfoSchema(StrictSchema):
    """A gas as embedded in a version (filled in from gas_limits.yaml by the loader)."""

    name = fields.Nested(LocalizedTextSchema, required=True)
    unit = fields.String(required=True, validate=validate.OneOf(list(UNIT_RANGES)))
    molar_mass = StrictFloat(load_default=None, allow_none=True)
    lel = StrictFloat(load_default=None, allow_none=True)


class TemplateSchema(StrictSchema):
    """A whole template file; item codes and citations are checked against the file."""

    code = fields.String(
        required=True,
        validate=validate.Regexp(rf"^{_TEMPLATE_CODE}$", error="must be 2-4 capital letters"),
    )
    title = fields.Nested(LocalizedTextSchema, required=True)
    description = fields.Nested(LocalizedTextSchema, required=True)
    sources = fields.Dict(
        keys=fields.String(validate=validate.Regexp(SOURCE_ID_PATTERN, error=SOURCE_ID_ERROR)),
        values=fields.String(validate=not_blank),
        required=True,
        validate=validate.Length(min=1),
    )
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1))
    format = fields.Integer(strict=True, load_default=1, validate=validate.OneOf([1, FORMAT]))
    edition = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=1))
    changelog = fields.List(fields.Nested(ChangeEntrySchema), load_default=list)
    gases = fields.Dict(
        keys=fields.String(), values=fields.Nested(GasInfoSchema), load_default=dict
    )

    @validates_schema
    def _check_items(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[int, dict[str, Any]] = {}
        first_index: dict[str, int] = {}
        for index, item in enumerate(data["items"]):
            problems = _item_problems(item, data["code"], data["sources"])
            for path, found in _format_problems(item, data["format"], data.get("gases")).items():
                problems.setdefault(path, []).extend(found)
            if item.code in first_index:
                problems.setdefault("_schema", []).append(
                    f"duplicate code (first used by item #{first_index[item.code] + 1})"
                )
            first_index.setdefault(item.code, index)
            if problems:
                errors[index] = problems
        if errors:
            raise ValidationError({"items": errors})

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> ChecklistTemplate:
        return ChecklistTemplate(
            code=data["code"],
            title=data["title"],
            description=data["description"],
            sources=MappingProxyType(dict(data["sources"])),
            items=tuple(data["items"]),
            format=data["format"],
            edition=data["edition"],
            changelog=tuple(data["changelog"]),
            gases=MappingProxyType(
                {code: GasInfo(code=code, **g) for code, g in sorted(data["gases"].items())}
            ),
        )


def item_facts(item: ChecklistItem) -> list[tuple[str, str]]:
    """Every tagged fact of an item as (field path, citation): legal bases, pass rules and
    their extra readings, major-hazard criteria, for the item and each regime's variant."""
    facts: list[tuple[str, str]] = []

    def add(prefix: str, fields_: Any) -> None:
        for basis in fields_.get("legal_basis") or ():
            facts.append((f"{prefix}legal_basis", basis))
        if rule := fields_.get("pass_rule"):
            facts.append((f"{prefix}pass_rule", rule.source))
            facts.extend((f"{prefix}pass_rule", a.source) for a in rule.alternatives)
            facts.extend((f"{prefix}pass_rule", b.source) for b in rule.altitude)
            if rule.lel:
                facts.append((f"{prefix}pass_rule", rule.lel.source))
        if hazard := fields_.get("major_hazard"):
            facts.append((f"{prefix}major_hazard", hazard.criterion))

    add("", {f: getattr(item, f) for f in ("legal_basis", "pass_rule", "major_hazard")})
    for regime, variant in item.regimes.items():
        if variant is not None:
            add(f"regimes.{regime}.", variant)
    return facts


def _format_problems(
    item: ChecklistItem, format_: int, gases: Mapping[str, Any] | None
) -> dict[str, list[str]]:
    """Format 1: a tag per item. Format 2: a tag on every fact, and every unsure fact
    explained (`unsure`), with no explanation left over for a fact that is settled."""
    if format_ == 1:
        extras = ("continues", "regimes", "unsure", "gas", "advisory")
        problems = [f"format 1 items take no {name}" for name in extras if getattr(item, name)]
        if item.verification is None:
            problems.append("format 1 items need a verification tag")
        return {"_schema": problems} if problems else {}
    problems: dict[str, list[str]] = {}
    if item.verification is not None:
        problems["verification"] = ["format 2 tags each fact ('M13 Art.7 [V]'), not the whole item"]
    unsure_paths = set()
    for path, citation in item_facts(item):
        if untagged := untagged_parts(citation):
            problems.setdefault(path, []).extend(
                f"{part!r} has no verification tag ([V], [S], [M] or [I])" for part in untagged
            )
        elif is_unsure(citation):
            unsure_paths.add(path)
    explained = {u.field for u in item.unsure}
    for path in sorted(unsure_paths - explained):
        problems.setdefault(path, []).append(
            "is unsure ([M] or UNSURE): say what and where to read it in `unsure`"
        )
    for path in sorted(explained - unsure_paths - set(problems)):
        problems.setdefault("unsure", []).append(f"{path} is not tagged unsure")
    if item.gas and gases is not None and item.gas not in gases and item.gas != FLAMMABLE:
        problems.setdefault("gas", []).append(f"unknown gas {item.gas!r}")
    return problems


def _item_problems(
    item: ChecklistItem, template_code: str, sources: Mapping[str, str]
) -> dict[str, Any]:
    """Checks of one item that need the template around it: code prefix and citations."""
    problems: dict[str, Any] = {}
    if not item.code.startswith(f"{template_code}-"):
        problems["_schema"] = [f"code must start with '{template_code}-'"]
    named = {"pass_rule": "pass_rule.source", "major_hazard": "major_hazard.criterion"}
    cited: dict[str, list[str]] = {}
    for path, citation in item_facts(item):
        head, _, last = path.rpartition(".")
        key = ".".join(filter(None, (head, named.get(last, last))))
        cited.setdefault(key, []).append(citation)
    for field_path, citations in cited.items():
        if unknown := unknown_citations(citations, sources):
            problems[field_path] = unknown
    return problems


def unknown_citations(citations: list[str], sources: Mapping[str, str]) -> list[str]:
    """One message per source ID in `citations` that `sources` does not expand."""
    return [
        f"{citation!r} cites {source_id!r}, which is not in sources"
        for citation in citations
        for source_id in citation_source_ids(citation)
        if source_id not in sources
    ]
