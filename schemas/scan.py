"""The scan at a confined space: the request (label token, action, nonce) and the decision."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import LocationSchema, ObjectIdString, RequestSchema, Timestamp
from server.clock import DEVICE_TIMES
from server.models.entry import Action


class FixSchema(LocationSchema):
    """The device's position fix, if it has one (underground it often has none)."""

    accuracy_m = ma.fields.Float(
        load_default=None, allow_none=True, allow_nan=False, validate=ma.validate.Range(0, 1e5)
    )


class ScanSchema(RequestSchema):
    token = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 300),
        metadata={"description": "the label's token (the last part of its URL)"},
    )
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(Action.ALL))
    worker_id = ObjectIdString(
        metadata={"description": "whose entry (default: the caller); an attendant scans for one"}
    )
    nonce = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^[A-Za-z0-9_-]{16,64}$"),
        metadata={"description": "fresh for every request (a UUID); a replay is refused (409)"},
    )
    sent_at = ma.fields.AwareDateTime(
        required=True,
        validate=ma.validate.Range(*DEVICE_TIMES),
        metadata={"description": "the device's clock when sending; a stale request is refused"},
    )
    device_id = ma.fields.String(
        validate=ma.validate.Length(1, 100),
        metadata={"description": "the device, when the bearer token is bound to none"},
    )
    fix = ma.fields.Nested(FixSchema, allow_none=True)
    space_id = ObjectIdString(
        metadata={"description": "the space the caller means to be at; another's label is refused"}
    )


class ReasonSchema(ma.Schema):
    code = ma.fields.String()
    severity = ma.fields.String(metadata={"enum": ["deny", "warn"]})
    zh_cn = ma.fields.String(data_key="zh-CN")
    en = ma.fields.String()
    source = ma.fields.String()
    detail = ma.fields.String(allow_none=True)

    @ma.pre_dump
    def _keys(self, data, **kwargs):
        return {**data, "zh_cn": data.get("zh-CN")}


class ScanOutcomeSchema(ma.Schema):
    allowed = ma.fields.Boolean()
    action = ma.fields.String(metadata={"enum": list(Action.ALL)})
    event_id = ObjectIdString()
    space_id = ObjectIdString(allow_none=True)
    permit_id = ma.fields.String(allow_none=True)
    worker_id = ObjectIdString()
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))
    headcount = ma.fields.Integer(allow_none=True, metadata={"description": "after the change"})
    inside = ma.fields.List(ObjectIdString(), allow_none=True)
    at = Timestamp()


class EntryPreviewQuerySchema(RequestSchema):
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(Action.ALL))
    worker_id = ObjectIdString(
        load_default=None,
        metadata={"description": "whose scan (default: the caller), as for the scan"},
    )
    token = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(1, 300),
        metadata={
            "description": "the label's token, verified as the scan would; without it "
            "the label is not judged"
        },
    )


class EntryPreviewSchema(ma.Schema):
    """What a scan would decide now (no effect: nothing recorded, no nonce taken)."""

    allowed = ma.fields.Boolean()
    action = ma.fields.String(metadata={"enum": list(Action.ALL)})
    space_id = ObjectIdString()
    permit_id = ma.fields.String(allow_none=True)
    worker_id = ObjectIdString()
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))
    headcount = ma.fields.Integer(metadata={"description": "inside now"})
    label_checked = ma.fields.Boolean(
        metadata={"description": "whether a label token was verified"}
    )
    at = Timestamp()
