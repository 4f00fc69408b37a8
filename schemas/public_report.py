"""Public reports (群众举报) as the API reads and takes them: what anyone may send, the receipt
with the follow-up code, what the code shows, and the supervisors' reading and decisions."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.hazard import Level
from server.models.public_report import Status

_STATUS = {"enum": list(Status.ALL)}


def _text(most: int, **kwargs) -> ma.fields.String:
    return ma.fields.String(validate=ma.validate.Length(1, most), **kwargs)


class PublicReportCreateSchema(RequestSchema):
    """A report sent without an account: a known enterprise (its id), or a jurisdiction and
    the enterprise's name (and address) as words; what was seen, where; a contact if wished."""

    enterprise_id = ObjectIdString(metadata={"description": "a known enterprise, if any"})
    jurisdiction_id = ObjectIdString(
        metadata={"description": "required without enterprise_id: where the enterprise is"}
    )
    enterprise_name = _text(200, metadata={"description": "required without enterprise_id"})
    enterprise_address = _text(300)
    place = _text(200, metadata={"description": "where at the enterprise (workshop, gate...)"})
    description = _text(2000, required=True, metadata={"description": "what was seen"})
    contact = _text(
        200,
        metadata={"description": "how to reach the reporter, if they wish: supervisors only"},
    )


class PublicReportFollowUpSchema(ma.Schema):
    """What the follow-up code shows: the status, nothing of the decision."""

    status = ma.fields.String(metadata=_STATUS)
    submitted_at = Timestamp()
    photos = ma.fields.Integer(metadata={"description": "photos stored with the report"})


class PublicReportReceiptSchema(PublicReportFollowUpSchema):
    """The answer to a report: its follow-up code (shown this once) and where photos go."""

    code = ma.fields.String(metadata={"example": "K7QX-M2PD-9RTA-W4HZ"})
    max_photos = ma.fields.Integer()
    max_photo_bytes = ma.fields.Integer()
    photos_url = ma.fields.String(metadata={"description": "POST each photo's bytes here"})


class PublicReportSchema(ma.Schema):
    """A report as the supervisors of its jurisdiction read it."""

    id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    enterprise_id = ObjectIdString(allow_none=True)
    enterprise_name = ma.fields.String()
    enterprise_address = ma.fields.String(allow_none=True)
    place = ma.fields.String(allow_none=True)
    description = ma.fields.String()
    contact = ma.fields.String(allow_none=True)
    photos = ma.fields.List(ma.fields.String())
    status = ma.fields.String(metadata=_STATUS)
    decided_by = ObjectIdString(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    dismiss_reason = ma.fields.String(allow_none=True)
    hazard_id = ma.fields.String(allow_none=True)
    submitted_at = Timestamp()


class PublicReportQuerySchema(RequestSchema):
    status = ma.fields.String(validate=ma.validate.OneOf(Status.ALL))


class PublicReportVerifySchema(RequestSchema):
    """The hazard the report becomes: its level, and what the supervisor corrects."""

    level = ma.fields.String(required=True, validate=ma.validate.OneOf(Level.ALL))
    enterprise_id = ObjectIdString(
        metadata={"description": "required when the report named no known enterprise"}
    )
    description = _text(2000, metadata={"description": "default: the report's words"})
    place = _text(200)
    legal_basis = ma.fields.List(_text(200), validate=ma.validate.Length(max=20))
    inspector_id = ObjectIdString(
        metadata={
            "description": "the jurisdiction's inspector who orders it rectified and "
            "re-inspects it (no inspection found it)"
        }
    )


class PublicReportDismissSchema(RequestSchema):
    reason = _text(2000, required=True)
