"""Published gas-limit versions as phones download them."""

from __future__ import annotations

import marshmallow as ma

from schemas.checklist import ChangeEntrySchema
from schemas.common import JSON_VALUE, Timestamp


class GasLimitsSchema(ma.Schema):
    version = ma.fields.Integer()
    content_hash = ma.fields.String()
    locale = ma.fields.String()
    published_at = Timestamp()
    changelog = ma.fields.List(ma.fields.Nested(ChangeEntrySchema))
    content = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(metadata=JSON_VALUE),
        metadata={
            "description": "the gas-test rules as published (format: checklists/loader.py): "
            "sources, params, minimum_set, default_regime, applies, regimes"
        },
    )
