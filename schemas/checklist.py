"""Response bodies of checklist downloads (one locale: zh-CN or en, by Accept-Language)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import Timestamp

_s = ma.fields.String


class PassRuleSchema(ma.Schema):
    min = ma.fields.Float(allow_none=True)
    max = ma.fields.Float(allow_none=True)
    source = _s()


class ChoiceSchema(ma.Schema):
    code = _s()
    text = _s()
    passes = ma.fields.Boolean()


class MajorHazardSchema(ma.Schema):
    criterion = _s(metadata={"example": "M10 Art.13(2)"})
    condition = _s()


class ChecklistItemSchema(ma.Schema):
    code = _s(metadata={"example": "CS-09"})
    text = _s()
    answer = _s(metadata={"enum": ["yes_no_na", "numeric", "text", "choice"]})
    allow_na = ma.fields.Boolean()
    unit = _s(allow_none=True)
    pass_rule = ma.fields.Nested(PassRuleSchema, allow_none=True)
    choices = ma.fields.List(ma.fields.Nested(ChoiceSchema))
    note = _s(allow_none=True)
    legal_basis = ma.fields.List(_s())
    major_hazard = ma.fields.Nested(MajorHazardSchema, allow_none=True)
    photo_required_on_fail = ma.fields.Boolean()
    verification = _s(metadata={"description": "V: rule text read; S: secondary; I: inferred"})


class ChecklistSummarySchema(ma.Schema):
    code = _s()
    version = ma.fields.Integer()
    content_hash = _s()
    locale = _s()
    title = _s()
    item_count = ma.fields.Integer()
    published_at = Timestamp()


class ChecklistSchema(ChecklistSummarySchema):
    description = _s()
    sources = ma.fields.Dict(keys=_s(), values=_s())
    items = ma.fields.List(ma.fields.Nested(ChecklistItemSchema))
