"""Hazards as the REST API reads them (phones get the same documents through the change feed),
the list's query, a hazard recorded by hand, a transition's request, and the transition table."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from server.models.hazard import Level, Source
from server.services.hazards import states
from sync.handlers.hazard import HazardPlaceSchema, PlanSchema, ReinspectionSchema, photo_list


class HazardCreateSchema(RequestSchema):
    """A hazard recorded by hand by an inspector or a supervisor."""

    enterprise_id = ObjectIdString(required=True)
    description = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(Level.ALL))
    legal_basis = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 200)))
    place = ma.fields.Nested(HazardPlaceSchema)
    photos = photo_list()


class PenaltySchema(ma.Schema):
    """一案双罚: the decision on the firm and on each responsible person."""

    class Meta:
        unknown = ma.RAISE

    firm = ma.fields.String(validate=ma.validate.Length(1, 500))
    persons = ma.fields.List(ma.fields.String(validate=ma.validate.Length(1, 500)))


class TransitionSchema(RequestSchema):
    """One transition of the table (`GET /hazards/transitions` says what each requires)."""

    action = ma.fields.String(required=True, validate=ma.validate.OneOf(states.ACTIONS))
    version = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "the hazard's version the caller decided on"},
    )
    reason = ma.fields.String(validate=ma.validate.Length(1, 2000))
    note = ma.fields.String(validate=ma.validate.Length(1, 2000))
    deadline = ma.fields.Date(
        metadata={"description": "the day by which (its 24:00 in Asia/Shanghai)"}
    )
    measures = ma.fields.String(validate=ma.validate.Length(1, 2000))
    plan = ma.fields.Nested(PlanSchema)
    photos = photo_list()
    level = ma.fields.String(validate=ma.validate.OneOf(Level.ALL))
    escalation = ma.fields.String(validate=ma.validate.OneOf(states.ESCALATIONS))
    penalty = ma.fields.Nested(PenaltySchema)
    application = ma.fields.String(
        validate=ma.validate.Length(1, 2000),
        metadata={"description": "the firm's written application (closing a major)"},
    )
    reinspection = ma.fields.Nested(
        ReinspectionSchema,
        metadata={"description": "the re-inspection at the hazard's place (close-out)"},
    )


#: Transitions taken, oldest first ("from" is a Python keyword: built from a dict).
HistoryEntrySchema = ma.Schema.from_dict(
    {
        "action": ma.fields.String(),
        "from": ma.fields.String(allow_none=True),
        "to": ma.fields.String(),
        "by": ObjectIdString(allow_none=True),
        "role": ma.fields.String(),
        "at": Timestamp(),
        "reason": ma.fields.String(),
        "note": ma.fields.String(),
        "level": ma.fields.String(),
        "level_before": ma.fields.String(),
        "escalation": ma.fields.String(),
        "photos": ma.fields.List(ma.fields.String()),
        # `issue` taken when an order is served: which order runs the deadline.
        "order_id": ma.fields.String(),
        "order_number": ma.fields.String(),
    },
    name="HazardHistoryEntrySchema",
)


class EscalationSchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": list(states.ESCALATIONS)})
    note = ma.fields.String()
    by = ObjectIdString(allow_none=True)
    at = Timestamp()


class ReinspectionRecordSchema(ReinspectionSchema):
    """The re-inspection as recorded: who, when."""

    class Meta:
        unknown = ma.RAISE

    by = ObjectIdString(allow_none=True)
    role = ma.fields.String()
    at = Timestamp()


class CloseoutApplicationSchema(ma.Schema):
    """A major's close-out application by the firm (16号令 Art.18)."""

    text = ma.fields.String()
    by = ObjectIdString(allow_none=True)
    at = Timestamp()


class HazardSchema(ma.Schema):
    """A hazard; enterprise users are not shown where an inspector stood."""

    id = ma.fields.String()
    source = ma.fields.String(metadata={"enum": list(Source.ALL)})
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inspector_id = ObjectIdString(allow_none=True)
    reported_by = ObjectIdString(allow_none=True)
    inspection_id = ma.fields.String(allow_none=True)
    inspection_ids = ma.fields.List(ma.fields.String())
    checklist_code = ma.fields.String(allow_none=True)
    checklist_version = ma.fields.Integer(allow_none=True)
    item_code = ma.fields.String(allow_none=True)
    item_key = ma.fields.String(allow_none=True)
    item_lineage = ma.fields.List(ma.fields.String())
    description = ma.fields.String()
    legal_basis = ma.fields.List(ma.fields.String())
    level = ma.fields.String(metadata={"enum": list(Level.ALL)})
    level_confirmed = ma.fields.Boolean(
        metadata={"description": "false: major, to be confirmed by a supervisor"}
    )
    severity = ma.fields.String(allow_none=True)
    place = ma.fields.Nested(HazardPlaceSchema)
    photos = ma.fields.List(ma.fields.String())
    state = ma.fields.String(metadata={"enum": list(states.STATES)})
    listing = ma.fields.String(metadata={"enum": ["none", "listed", "delisted"]})
    listed_at = Timestamp(allow_none=True)
    delisted_at = Timestamp(allow_none=True)
    deadline = Timestamp(allow_none=True)
    plan = ma.fields.Nested(PlanSchema, allow_none=True)
    interim_measures = ma.fields.String(allow_none=True)
    escalations = ma.fields.List(ma.fields.Nested(EscalationSchema))
    penalty = ma.fields.Nested(PenaltySchema, allow_none=True)
    history = ma.fields.List(ma.fields.Nested(HistoryEntrySchema))
    repeat_of = ma.fields.String(allow_none=True)
    repeat_ids = ma.fields.List(ma.fields.String())
    withdrawn_reason = ma.fields.String(allow_none=True)
    reinspection = ma.fields.Nested(ReinspectionRecordSchema, allow_none=True)
    closeout_application = ma.fields.Nested(CloseoutApplicationSchema, allow_none=True)
    version = ma.fields.Integer()
    received_at = Timestamp()
    created_at = Timestamp()
    updated_at = Timestamp()


class HazardCopySchema(HazardSchema):
    """A hazard as the feed (and a conflict's server copy) delivers it: the REST reading."""

    device_id = ma.fields.String(allow_none=True)


class HazardQuerySchema(RequestSchema):
    enterprise_id = ObjectIdString()
    state = ma.fields.String(validate=ma.validate.OneOf(states.STATES))
    level = ma.fields.String(validate=ma.validate.OneOf(Level.ALL))
    source = ma.fields.String(validate=ma.validate.OneOf(Source.ALL))


#: One row of the lifecycle table (server.services.hazards.states).
TransitionRowSchema = ma.Schema.from_dict(
    {
        "action": ma.fields.String(),
        "from": ma.fields.List(ma.fields.String()),
        "to": ma.fields.String(allow_none=True),
        "who": ma.fields.List(ma.fields.String()),
        "requires": ma.fields.List(ma.fields.String()),
        "rules": ma.fields.List(ma.fields.String()),
        "basis": ma.fields.String(),
    },
    name="HazardTransitionRowSchema",
)
