"""The RFC 9457 problem document, the one error body of the API (documentation only; bodies
are built by server.errors and server.api.problems)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import JSON_SCALAR_OR_LIST
from schemas.health import CheckSchema


class FieldProblemSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "dotted path of the field"})
    messages = ma.fields.List(ma.fields.String())
    location = ma.fields.String(
        data_key="in", allow_none=True, metadata={"description": "json, query, headers…"}
    )


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details, with the extension members some problems carry."""

    type = ma.fields.String(metadata={"example": "/problems/not-found"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String(allow_none=True)
    instance = ma.fields.String()
    request_id = ma.fields.String(allow_none=True)
    errors = ma.fields.List(ma.fields.Nested(FieldProblemSchema))
    reasons = ma.fields.List(
        ma.fields.Dict(
            keys=ma.fields.String(),
            values=ma.fields.Raw(metadata={**JSON_SCALAR_OR_LIST, "nullable": True}),
        ),
        metadata={
            "description": "each failed rule, named by `code` (e.g. UNANSWERED, with its `item`) "
            "or `rule` (e.g. max_image_pixels, with its `limit`), with its particulars"
        },
    )
    limit = ma.fields.Integer(metadata={"description": "too-large: the limit, in `unit`"})
    unit = ma.fields.String(metadata={"example": "bytes"})
    offset = ma.fields.Integer(
        allow_none=True, metadata={"description": "offset-mismatch: the upload's offset"}
    )
    checks = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(CheckSchema),
        metadata={"description": "GET /health: each dependency"},
    )
    down = ma.fields.List(
        ma.fields.String(), metadata={"description": "GET /health: the dependencies down"}
    )
