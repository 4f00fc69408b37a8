"""Response schema of `GET /health`."""

from __future__ import annotations

import marshmallow as ma


class CheckSchema(ma.Schema):
    status = ma.fields.String(required=True, metadata={"enum": ["ok", "down"]})
    error = ma.fields.String(metadata={"description": "why it is down"})


class HealthSchema(ma.Schema):
    status = ma.fields.String(
        required=True,
        metadata={
            "enum": ["ok", "degraded"],
            "description": "degraded: Redis is down; the API serves and writes go to the outbox",
        },
    )
    checks = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(CheckSchema), required=True
    )
    down = ma.fields.List(ma.fields.String(), metadata={"description": "dependencies down"})
