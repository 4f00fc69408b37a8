"""The RFC 9457 problem document, the one error body of the API (documentation only; bodies
are built by server.errors and server.api.problems)."""

from __future__ import annotations

import marshmallow as ma


class FieldProblemSchema(ma.Schema):
    field = ma.fields.String(metadata={"description": "dotted path of the field"})
    messages = ma.fields.List(ma.fields.String())
    location = ma.fields.String(
        data_key="in", allow_none=True, metadata={"description": "json, query, headers…"}
    )


class ProblemSchema(ma.Schema):
    """RFC 9457 problem details."""

    type = ma.fields.String(metadata={"example": "/problems/not-found"})
    title = ma.fields.String()
    status = ma.fields.Integer()
    detail = ma.fields.String(allow_none=True)
    instance = ma.fields.String()
    request_id = ma.fields.String(allow_none=True)
    errors = ma.fields.List(ma.fields.Nested(FieldProblemSchema))
    reasons = ma.fields.List(ma.fields.Dict())
