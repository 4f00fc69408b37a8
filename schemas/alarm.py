"""Alarms at confined spaces as the API reads them (phones get the same through the feed)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.alarm import AlarmKind, AlarmStatus


class AlarmListQuerySchema(RequestSchema):
    space_id = ObjectIdString(load_default=None)
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf(AlarmStatus.ALL))
    since = ma.fields.AwareDateTime(
        load_default=None,
        metadata={
            "description": "only alarms raised or acknowledged at or after this instant: what a "
            "page polling every few seconds asks for (pass the time of its previous poll)"
        },
    )


class AlarmMessageSchema(ma.Schema):
    zh_cn = ma.fields.String(data_key="zh-CN", attribute="zh-CN")
    en = ma.fields.String()
    source = ma.fields.String()


class AcknowledgementSchema(ma.Schema):
    by = ObjectIdString()
    at = Timestamp()
    closes = ma.fields.Boolean(metadata={"description": "an attendant's or a manager's"})


class AlarmSchema(ma.Schema):
    id = ma.fields.String(attribute="_id")
    kind = ma.fields.String(metadata={"enum": list(AlarmKind.ALL)})
    space_id = ObjectIdString()
    permit_id = ma.fields.String(allow_none=True)
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inside = ma.fields.List(ObjectIdString(), metadata={"description": "ordered out"})
    recipients = ma.fields.List(ObjectIdString())
    message = ma.fields.Nested(AlarmMessageSchema)
    detail = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"enum": list(AlarmStatus.ALL)})
    acknowledgements = ma.fields.List(ma.fields.Nested(AcknowledgementSchema))
    raised_at = Timestamp()
    version = ma.fields.Integer()
