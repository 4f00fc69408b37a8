"""Request and response bodies of offline sync: pull, push and device status."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import RequestSchema, Timestamp
from server.models.device import DEVICE_ID_PATTERN
from sync.feed import DEFAULT_LIMIT, MAX_LIMIT


class DeviceReportSchema(RequestSchema):
    """What the phone says about itself at each sync (stored for device observability)."""

    device_id = ma.fields.String(required=True, validate=ma.validate.Regexp(DEVICE_ID_PATTERN))
    device_time = ma.fields.AwareDateTime(
        load_default=None, metadata={"description": "the phone's clock when it sent this"}
    )
    pending_mutations = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0))
    pending_photo_bytes = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=0))
    oldest_unsynced_at = ma.fields.AwareDateTime(load_default=None)
    app_version = ma.fields.String(load_default=None, validate=ma.validate.Length(1, 40))


class PullQuerySchema(DeviceReportSchema):
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=100),
        metadata={"description": "from the previous page; none for a first sync"},
    )
    limit = ma.fields.Integer(
        load_default=DEFAULT_LIMIT, validate=ma.validate.Range(min=1, max=MAX_LIMIT)
    )


class ChangeSchema(ma.Schema):
    collection = ma.fields.String(metadata={"example": "inspections"})
    id = ma.fields.String()
    op = ma.fields.String(metadata={"enum": ["upsert", "delete"]})
    seq = ma.fields.Integer()
    data = ma.fields.Dict(metadata={"description": "the current state (upserts only)"})


class PullPageSchema(ma.Schema):
    changes = ma.fields.List(ma.fields.Nested(ChangeSchema))
    cursor = ma.fields.String()
    has_more = ma.fields.Boolean()
    high_water = ma.fields.Integer()
    server_time = Timestamp()


class PushSchema(DeviceReportSchema):
    mutations = ma.fields.List(
        ma.fields.Raw(),
        required=True,
        metadata={
            "description": "each {mutation_id, collection, op, id, base_version, data}; checked "
            "one by one so that a bad record gets its own rejected receipt"
        },
    )


class ReceiptSchema(ma.Schema):
    mutation_id = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": ["applied", "duplicate", "conflict", "rejected"]})
    first_status = ma.fields.String()
    collection = ma.fields.String()
    id = ma.fields.String()
    version = ma.fields.Integer()
    missing_photos = ma.fields.List(ma.fields.String())
    photos_complete = ma.fields.Boolean()
    reason = ma.fields.String()
    detail = ma.fields.String()
    server_copy = ma.fields.Dict()
    retryable = ma.fields.Boolean(
        metadata={
            "description": "rejected only: true when the same mutation (same id) may be sent "
            "again later (what it names has not reached the server yet); false when it never "
            "will apply as sent"
        }
    )
    problem = ma.fields.Dict()


class PushResultSchema(ma.Schema):
    receipts = ma.fields.List(ma.fields.Nested(ReceiptSchema))
    server_time = Timestamp()
    clock_offset_s = ma.fields.Float(allow_none=True)


class DeviceStateQuerySchema(RequestSchema):
    state = ma.fields.String(
        load_default="unsynced", validate=ma.validate.OneOf(["unsynced", "stalled"])
    )


class DeviceStatusSchema(ma.Schema):
    device_id = ma.fields.String()
    user_id = ma.fields.String()
    jurisdiction_id = ma.fields.String()
    last_seen_at = Timestamp()
    last_pull_at = Timestamp()
    last_push_at = Timestamp()
    cursor_seq = ma.fields.Integer()
    pending_mutations = ma.fields.Integer()
    pending_photo_bytes = ma.fields.Integer()
    oldest_unsynced_at = Timestamp()
    oldest_unsynced_at_offset_min = ma.fields.Integer(
        allow_none=True, metadata={"description": "the phone's UTC offset in that time, minutes"}
    )
    device_time = Timestamp(allow_none=True, metadata={"description": "its clock at last sync"})
    device_time_offset_min = ma.fields.Integer(allow_none=True)
    clock_offset_s = ma.fields.Float()
    clock_skewed = ma.fields.Boolean()
    stalled = ma.fields.Boolean()
