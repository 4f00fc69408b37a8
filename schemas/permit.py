"""Request and response bodies of entry permits and their records (phones push the same data,
sync.handlers.permit, and get the same documents through the change feed)."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.permit import ApproverCapacity, PermitStatus
from server.services.spaces import permits
from sync.handlers.permit import PermitDataSchema, PermitRecordDataSchema, ReadingSchema

_text = ma.fields.String


class PermitCreateSchema(RequestSchema, PermitDataSchema):
    """A draft permit (the enterprise's manager, or an admin)."""

    def __init__(self, **kwargs):
        super().__init__("create", **kwargs)


class PermitRecordCreateSchema(RequestSchema, PermitRecordDataSchema):
    """A record appended to a permit (its id is the path's)."""

    class Meta:
        unknown = ma.RAISE
        exclude = ("permit_id",)


class PermitListQuerySchema(RequestSchema):
    space_id = ObjectIdString(load_default=None)
    status = _text(load_default=None, validate=ma.validate.OneOf(PermitStatus.ALL))


class PermitTransitionSchema(RequestSchema):
    """One transition of the permit's states, on the version the caller saw."""

    action = _text(required=True, validate=ma.validate.OneOf(list(permits.BY_ACTION)))
    version = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=2**31),
        metadata={"description": "the permit's version the caller decided on"},
    )
    capacity = _text(
        validate=ma.validate.OneOf(ApproverCapacity.ALL),
        metadata={"description": "approve: as the principal, a written delegate, or other"},
    )
    delegation_ref = _text(
        validate=ma.validate.Length(1, 200),
        metadata={"description": "approve as a delegate: the written delegation"},
    )
    reason = _text(validate=ma.validate.Length(1, 1000))


class EntrantOutSchema(ma.Schema):
    user_id = ObjectIdString()
    name = _text(allow_none=True)
    employer = _text(allow_none=True)


#: Transitions taken, oldest first ("from" is a Python keyword: built from a dict).
PermitHistorySchema = ma.Schema.from_dict(
    {
        "action": _text(),
        "from": _text(),
        "to": _text(),
        "by": ObjectIdString(allow_none=True),
        "at": Timestamp(),
        "reason": _text(allow_none=True),
    },
    name="PermitHistoryEntrySchema",
)


class PermitSchema(ma.Schema):
    id = _text(attribute="_id")
    space_id = ObjectIdString()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    regime = _text()
    altitude_m = ma.fields.Float(allow_none=True)
    work = _text()
    applicant_id = ObjectIdString()
    valid_from = Timestamp()
    valid_to = Timestamp()
    attendants = ma.fields.List(ObjectIdString())
    entrants = ma.fields.List(ma.fields.Nested(EntrantOutSchema))
    entrant_ids = ma.fields.List(ObjectIdString())
    max_headcount = ma.fields.Integer()
    status = _text(metadata={"enum": list(PermitStatus.ALL)})
    approver_id = ObjectIdString(allow_none=True)
    approver_capacity = _text(allow_none=True, metadata={"enum": list(ApproverCapacity.ALL)})
    delegation_ref = _text(allow_none=True)
    approved_at = Timestamp(allow_none=True)
    history = ma.fields.List(ma.fields.Nested(PermitHistorySchema))
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class PermitRecordSchema(ma.Schema):
    id = _text(attribute="_id")
    permit_id = _text()
    space_id = ObjectIdString()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    kind = _text(metadata={"enum": list(permits.RECORD_KINDS)})
    by = ObjectIdString()
    at = Timestamp()
    instrument = _text(allow_none=True)
    readings = ma.fields.Dict(keys=_text(), values=ma.fields.Nested(ReadingSchema))
    location = _text(allow_none=True)
    note = _text(allow_none=True)
    received_at = Timestamp()
