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

from checklists.template import (
    NA_ANSWER,
    UNIT_RANGES,
    AnswerType,
    ChecklistItem,
    ChecklistTemplate,
    Choice,
    LocalizedText,
    MajorHazard,
    PassRule,
)

SOURCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]*$"
SOURCE_ID_ERROR = "source IDs use letters, digits and '-' only (e.g. M13, GBZ2-1)"
"""A short source ID. No '.', because published versions store the
`sources` map as a MongoDB subdocument, where a dotted key reads as a path."""

_TEMPLATE_CODE = r"[A-Z]{2,4}"


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


class PassRuleSchema(StrictSchema):
    """Inclusive numeric bounds with the rule they come from."""

    min = StrictFloat(load_default=None, allow_none=True)
    max = StrictFloat(load_default=None, allow_none=True)
    source = fields.String(required=True, validate=not_blank)

    @validates_schema
    def _check_bounds(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The unit lives on the item, so the physical range is checked there.
        if problems := bound_problems(data["min"], data["max"], None):
            raise ValidationError(problems)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> PassRule:
        return PassRule(**data)


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

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MajorHazard:
        return MajorHazard(**data)


class ItemSchema(StrictSchema):
    """One checklist row; its answer type decides which of unit, pass_rule, choices apply."""

    code = fields.String(
        required=True,
        validate=validate.Regexp(
            rf"^{_TEMPLATE_CODE}-\d{{2}}$", error="must be like CS-09 (template code, two digits)"
        ),
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
    verification = fields.String(
        required=True,
        validate=validate.Regexp(r"^[VSI](/[VSI])*$", error="must be V, S, I or a mix like V/S"),
    )

    @validates_schema
    def _check_answer_shape(self, data: dict[str, Any], **kwargs: Any) -> None:
        answer: AnswerType = data["answer"]
        problems = []
        if answer is AnswerType.NUMERIC:
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
            **{**data, "choices": tuple(data["choices"]), "legal_basis": tuple(data["legal_basis"])}
        )


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

    @validates_schema
    def _check_items(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[int, dict[str, Any]] = {}
        first_index: dict[str, int] = {}
        for index, item in enumerate(data["items"]):
            problems = _item_problems(item, data["code"], data["sources"])
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
        )


def _item_problems(
    item: ChecklistItem, template_code: str, sources: Mapping[str, str]
) -> dict[str, Any]:
    """Checks of one item that need the template around it: code prefix and citations."""
    problems: dict[str, Any] = {}
    if not item.code.startswith(f"{template_code}-"):
        problems["_schema"] = [f"code must start with '{template_code}-'"]
    cited = {"legal_basis": list(item.legal_basis)}
    if item.pass_rule:
        cited["pass_rule.source"] = [item.pass_rule.source]
    if item.major_hazard:
        cited["major_hazard.criterion"] = [item.major_hazard.criterion]
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
