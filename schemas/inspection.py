"""Response bodies of inspections as the REST API reads them (phones get the same documents
through the change feed); queries of the inspection list."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.inspection import Status


class AnswerSchema(ma.Schema):
    value = ma.fields.Raw(
        metadata={
            "oneOf": [{"type": "string"}, {"type": "number"}],
            "description": "yes/no/na, a number, a choice code or text",
        }
    )
    note = ma.fields.String(allow_none=True)
    photos = ma.fields.List(ma.fields.String(), metadata={"description": "SHA-256 of photos"})
    outcome = ma.fields.String(metadata={"enum": ["pass", "fail", "not_applicable", "warn"]})
    severity = ma.fields.String(
        allow_none=True, metadata={"enum": ["major", "major_to_confirm", "general", None]}
    )


class JudgedUnderSchema(ma.Schema):
    regime = ma.fields.String(metadata={"enum": ["industrial", "hazchem", "construction"]})
    altitude_m = ma.fields.Float(allow_none=True)
    poisoning_risk = ma.fields.Boolean(allow_none=True)
    in_scope = ma.fields.Boolean()


class InspectionLocationSchema(ma.Schema):
    longitude = ma.fields.Float()
    latitude = ma.fields.Float()
    accuracy_m = ma.fields.Float(allow_none=True)


class InspectionReviewSchema(ma.Schema):
    """The review that decided an inspection (server.services.review.decisions)."""

    decision_id = ma.fields.String()
    verdict = ma.fields.String(metadata={"enum": [Status.APPROVED, Status.RETURNED]})
    reasons = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "per returned item code, why it was returned"},
    )
    note = ma.fields.String(allow_none=True)
    by = ObjectIdString()
    at = Timestamp()


class InspectionSchema(ma.Schema):
    """An inspection; enterprise users are not shown where the inspector stood, nor the
    phone it was made on."""

    id = ma.fields.String()
    checklist_code = ma.fields.String()
    checklist_version = ma.fields.Integer()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inspector_id = ObjectIdString()
    device_id = ma.fields.String()
    status = ma.fields.String(
        metadata={"enum": [Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.RETURNED]}
    )
    unannounced = ma.fields.Boolean(metadata={"description": "四不两直: without notice"})
    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(AnswerSchema))
    judged_under = ma.fields.Nested(
        JudgedUnderSchema,
        allow_none=True,
        metadata={"description": "the regime and site facts pinned when it was created"},
    )
    note = ma.fields.String(allow_none=True)
    location = ma.fields.Nested(InspectionLocationSchema, allow_none=True)
    started_at_device = Timestamp(allow_none=True)
    started_at_device_offset_min = ma.fields.Integer(allow_none=True)
    device_time = Timestamp(allow_none=True)
    device_time_offset_min = ma.fields.Integer(allow_none=True)
    received_at = Timestamp()
    submitted_at = Timestamp(allow_none=True)
    submitted_at_device = Timestamp(allow_none=True)
    submitted_at_device_offset_min = ma.fields.Integer(allow_none=True)
    clock_offset_s = ma.fields.Float(allow_none=True)
    clock_skewed = ma.fields.Boolean(allow_none=True)
    photos = ma.fields.List(ma.fields.String())
    missing_photos = ma.fields.List(ma.fields.String())
    photos_complete = ma.fields.Boolean()
    corrects = ma.fields.String(allow_none=True)
    review = ma.fields.Nested(InspectionReviewSchema, allow_none=True)
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class InspectionQuerySchema(RequestSchema):
    enterprise_id = ObjectIdString()
    inspector_id = ObjectIdString()
    status = ma.fields.String(validate=ma.validate.OneOf([Status.DRAFT, Status.SUBMITTED]))
    checklist_code = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{2,4}$"))
