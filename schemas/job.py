"""Query and response schemas of the admin view of jobs (`/api/v1/admin/jobs`)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import JSON_VALUE, Timestamp


class JobQuerySchema(ma.Schema):
    class Meta:
        # Paging parameters (`page`, `page_size`) are read by the pager, beside this schema.
        unknown = ma.EXCLUDE

    state = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["pending", "failed"]),
        metadata={
            "description": "pending: outbox entries pending, ready or running (stuck when "
            "running past `lease_until`); failed: failed outbox entries and RQ's failed registry"
        },
    )


class JobSchema(ma.Schema):
    source = ma.fields.String(required=True, metadata={"enum": ["outbox", "rq"]})
    id = ma.fields.String(required=True, metadata={"description": "what `jobs-retry` takes"})
    job = ma.fields.String(allow_none=True, metadata={"example": "feed.sequence"})
    state = ma.fields.String(
        required=True, metadata={"enum": ["pending", "ready", "running", "failed"]}
    )
    args = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(metadata=JSON_VALUE),
        metadata={"description": "the job's keyword arguments (RQ's: `args`, a list)"},
    )
    attempts = ma.fields.Integer()
    error = ma.fields.String(allow_none=True, metadata={"description": "the last failure"})
    created_at = Timestamp(allow_none=True)
    ready_at = Timestamp(allow_none=True)
    started_at = Timestamp(allow_none=True)
    lease_until = Timestamp(allow_none=True)
    finished_at = Timestamp(allow_none=True)
