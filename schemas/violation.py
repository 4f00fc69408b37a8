"""Confined-space violations as the API lists them (server.models.violation)."""

from __future__ import annotations

import marshmallow as ma

from schemas.alarm import AlarmMessageSchema
from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.violation import ViolationKind


class ViolationListQuerySchema(RequestSchema):
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(ViolationKind.ALL))
    space_id = ObjectIdString(load_default=None)
    enterprise_id = ObjectIdString(load_default=None)
    hazard_candidate = ma.fields.Boolean(load_default=None)
    since = ma.fields.AwareDateTime(load_default=None, metadata={"description": "at or after"})
    until = ma.fields.AwareDateTime(load_default=None, metadata={"description": "before"})


class ViolationSchema(ma.Schema):
    id = ma.fields.String(attribute="_id")
    kind = ma.fields.String(metadata={"enum": list(ViolationKind.ALL)})
    space_id = ObjectIdString()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    permit_id = ma.fields.String(allow_none=True)
    worker_id = ObjectIdString(allow_none=True)
    entry_event_id = ObjectIdString(allow_none=True)
    alarm_id = ma.fields.String(allow_none=True)
    codes = ma.fields.List(ma.fields.String(), metadata={"description": "the scan's deny codes"})
    message = ma.fields.Nested(AlarmMessageSchema)
    criterion = ma.fields.String(
        allow_none=True,
        metadata={"description": "the M10 Art.13(2) criterion it meets, if any"},
    )
    poisoning_risk = ma.fields.Boolean(allow_none=True)
    hazard_candidate = ma.fields.Boolean()
    hazard_id = ma.fields.String(allow_none=True)
    repeat_of = ma.fields.String(
        allow_none=True,
        metadata={"description": "the first open candidate this one repeats (its hazard)"},
    )
    repeats = ma.fields.Integer(metadata={"description": "first candidates: repeats linked"})
    repeat_ids = ma.fields.List(ma.fields.String())
    last_seen_at = Timestamp(allow_none=True, metadata={"description": "the latest repeat"})
    at = Timestamp()
