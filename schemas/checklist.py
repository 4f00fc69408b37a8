"""Response bodies of checklist downloads (one locale: zh-CN or en, by Accept-Language)."""

from __future__ import annotations

import marshmallow as ma

from checklists.answer import NA_ANSWER
from schemas.common import OneOfNested, Timestamp

_s = ma.fields.String


class AltitudeBandSchema(ma.Schema):
    from_m = ma.fields.Float()
    to_m = ma.fields.Float(allow_none=True)
    max = ma.fields.Float()
    source = _s()


class LelRuleSchema(ma.Schema):
    at_least = ma.fields.Float(metadata={"description": "LEL (%VOL) from which `max` applies"})
    max = ma.fields.Float()
    source = _s()


class PassRuleSchema(ma.Schema):
    min = ma.fields.Float(allow_none=True)
    max = ma.fields.Float(allow_none=True)
    source = _s()
    alternatives = ma.fields.List(
        ma.fields.Nested(lambda: PassRuleSchema()),
        metadata={"description": "other readings of an unsure source; every one must pass"},
    )
    altitude = ma.fields.List(ma.fields.Nested(AltitudeBandSchema))
    lel = ma.fields.Nested(LelRuleSchema, allow_none=True)


class ChoiceSchema(ma.Schema):
    code = _s()
    text = _s()
    passes = ma.fields.Boolean()


class MajorHazardSchema(ma.Schema):
    criterion = _s(metadata={"example": "M10 Art.13(2) [S]"})
    condition = _s()
    requires = ma.fields.List(_s(metadata={"enum": ["poisoning_risk", "in_scope"]}))
    to_confirm = ma.fields.Boolean(
        metadata={"description": "the criterion is unsure: major, to be confirmed"}
    )


class UnsureSchema(ma.Schema):
    field = _s()
    what = _s()
    read = _s()


class ChangeEntrySchema(ma.Schema):
    items = ma.fields.List(_s())
    what = _s()
    why = _s()
    source = _s()


class GasInfoSchema(ma.Schema):
    name = _s()
    unit = _s()
    molar_mass = ma.fields.Float(allow_none=True)
    lel = ma.fields.Float(allow_none=True, metadata={"description": "lower explosive limit, %VOL"})


class RegimeVariantSchema(ma.Schema):
    """The fields of an item worded differently under one regime (absent: as the item)."""

    text = _s()
    note = _s(allow_none=True)
    pass_rule = ma.fields.Nested(PassRuleSchema)
    choices = ma.fields.List(ma.fields.Nested(ChoiceSchema))
    legal_basis = ma.fields.List(_s())
    major_hazard = ma.fields.Nested(MajorHazardSchema, allow_none=True)
    advisory = ma.fields.Boolean()
    photo_required_on_fail = ma.fields.Boolean()
    allow_na = ma.fields.Boolean()


class ChecklistItemSchema(ma.Schema):
    code = _s(metadata={"example": "CS-09"})
    text = _s()
    answer = _s(metadata={"enum": ["yes_no_na", "numeric", "text", "choice", "gas_reading"]})
    allow_na = ma.fields.Boolean()
    unit = _s(allow_none=True)
    pass_rule = ma.fields.Nested(PassRuleSchema, allow_none=True)
    choices = ma.fields.List(ma.fields.Nested(ChoiceSchema))
    note = _s(allow_none=True)
    legal_basis = ma.fields.List(_s())
    major_hazard = ma.fields.Nested(MajorHazardSchema, allow_none=True)
    photo_required_on_fail = ma.fields.Boolean()
    verification = _s(
        metadata={"description": "first editions only; later ones tag each fact ([V] [S] [M] [I])"}
    )
    continues = ma.fields.List(
        _s(), metadata={"description": "previous version's items it carries on"}
    )
    advisory = ma.fields.Boolean(metadata={"description": "a fail only warns"})
    gas = _s(allow_none=True)
    regimes = ma.fields.Dict(
        keys=_s(),
        values=OneOfNested(
            {"variant": RegimeVariantSchema}, also=({"type": "string", "enum": [NA_ANSWER]},)
        ),
        metadata={"description": "per regime: 'na', or the fields worded differently there"},
    )
    unsure = ma.fields.List(ma.fields.Nested(UnsureSchema))


class ChecklistSummarySchema(ma.Schema):
    code = _s()
    version = ma.fields.Integer()
    content_hash = _s()
    locale = _s()
    title = _s()
    item_count = ma.fields.Integer()
    published_at = Timestamp()
    changelog = ma.fields.List(ma.fields.Nested(ChangeEntrySchema))


class ChecklistSchema(ChecklistSummarySchema):
    description = _s()
    sources = ma.fields.Dict(keys=_s(), values=_s())
    items = ma.fields.List(ma.fields.Nested(ChecklistItemSchema))
    format = ma.fields.Integer()
    gases = ma.fields.Dict(keys=_s(), values=ma.fields.Nested(GasInfoSchema))


class UnsureFactSchema(ma.Schema):
    """A fact of the current checklists or gas limits that is not settled (REVIEW.md)."""

    where = _s(metadata={"example": "CS-04"})
    field = _s(metadata={"example": "major_hazard"})
    citation = _s(metadata={"example": "M10 Art.13(2) [M]"})
    what = _s()
    read = _s()
