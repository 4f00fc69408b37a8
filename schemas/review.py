"""Request and response bodies of the supervisors' review: the queue's filters and entries, a
decision on an inspection, and the decision as it is stored and synced."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, RequestSchema, Timestamp
from schemas.inspection import AnswerSchema
from server.models.hazard import Level
from server.models.inspection import Status
from server.models.synced import UUID_PATTERN
from server.services.review import decisions, queue

_UUID = ma.validate.Regexp(UUID_PATTERN)


class QueueQuerySchema(RequestSchema):
    enterprise_id = ObjectIdString()
    campaign = ma.fields.String(
        validate=ma.validate.Regexp(r"^[A-Z]{2,4}$"),
        metadata={"description": "a checklist code: CS, HW, FH or OC"},
    )
    level = ma.fields.String(validate=ma.validate.OneOf(Level.ALL))
    inspector_id = ObjectIdString()
    regime = ma.fields.String(validate=ma.validate.OneOf(["industrial", "hazchem", "construction"]))
    kind = ma.fields.String(validate=ma.validate.OneOf(queue.KINDS))


class ReviewPointSchema(ma.Schema):
    longitude = ma.fields.Float()
    latitude = ma.fields.Float()


class Point(ma.fields.Nested):
    """A (longitude, latitude) pair of the review's evidence, as an object."""

    def __init__(self, **kwargs):
        super().__init__(ReviewPointSchema, allow_none=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        point = {"longitude": value[0], "latitude": value[1]}
        return super()._serialize(point, attr, obj, **kwargs)


class QueuePhotoSchema(ma.Schema):
    sha256 = ma.fields.String()
    thumbnail_url = ma.fields.Function(
        lambda p: f"/api/v1/photos/{p.sha256}/thumbnail", metadata={"type": "string"}
    )
    review_url = ma.fields.Function(
        lambda p: f"/api/v1/photos/{p.sha256}/review?context={p.context_id}",
        metadata={"type": "string", "description": "the review copy of this upload context"},
    )
    context_id = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "what it was uploaded as evidence for"})
    item_code = ma.fields.String(allow_none=True)
    captured_at = Timestamp(allow_none=True, metadata={"description": "EXIF, the camera's"})
    captured_local = ma.fields.String(allow_none=True)
    received_at = Timestamp(metadata={"description": "the server's clock"})
    clock_skew_seconds = ma.fields.Float(allow_none=True)
    skew_flag = ma.fields.Boolean()
    gps = Point(metadata={"description": "as the camera wrote it"})
    distance_m = ma.fields.Float(allow_none=True, metadata={"description": "from the place"})
    capture = ma.fields.String(
        allow_none=True,
        metadata={"description": "as the app declared it: camera (its own) or library"},
    )


class EvidenceSchema(ma.Schema):
    photos = ma.fields.List(ma.fields.Nested(QueuePhotoSchema))
    place = Point(metadata={"description": "what the photos and the fix are compared with"})
    place_kind = ma.fields.String(
        allow_none=True, metadata={"enum": ["enterprise", "space", "hazard", None]}
    )
    fix = Point(metadata={"description": "the phone's fix for the inspection"})
    fix_distance_m = ma.fields.Float(allow_none=True)
    skewed = ma.fields.Boolean()
    in_app = ma.fields.String(metadata={"enum": ["all", "some", "none", "undeclared"]})
    far = ma.fields.Boolean(metadata={"description": "a photo or the fix far from the place"})


class ItemChangeSchema(ma.Schema):
    item_code = ma.fields.String()
    before = ma.fields.Nested(AnswerSchema, allow_none=True)
    after = ma.fields.Nested(AnswerSchema, allow_none=True)
    returned_for = ma.fields.String(allow_none=True)


class ChangesSchema(ma.Schema):
    corrects = ma.fields.String(allow_none=True)
    previous_verdict = ma.fields.String(allow_none=True)
    previous_reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    items = ma.fields.List(ma.fields.Nested(ItemChangeSchema))
    returned_unchanged = ma.fields.List(ma.fields.String())


def site_page(entry: queue.Entry) -> str:
    """A queue entry's page on the review site (server/web/review/): an inspection's on the
    queue's own pages, a hazard's on the hazards' pages. The site's queue links to it too."""
    if entry.kind == queue.INSPECTION:
        return f"/review/inspections/{entry.id}"
    return f"/review/hazards/{entry.id}"


class QueueEntrySchema(ma.Schema):
    kind = ma.fields.String(metadata={"enum": list(queue.KINDS)})
    id = ma.fields.String()
    url = ma.fields.Function(
        site_page, metadata={"type": "string", "description": "its page on the review site"}
    )
    enterprise_id = ObjectIdString()
    enterprise_name = ma.fields.String(allow_none=True)
    checklist_code = ma.fields.String(allow_none=True)
    inspector_id = ObjectIdString(allow_none=True)
    inspector_name = ma.fields.String(allow_none=True)
    level = ma.fields.String(allow_none=True, metadata={"enum": [*Level.ALL, None]})
    regime = ma.fields.String(allow_none=True)
    state = ma.fields.String(allow_none=True, metadata={"description": "a hazard's state"})
    waiting_since = Timestamp()
    received_at = Timestamp(allow_none=True)
    version = ma.fields.Function(lambda e: e.raw.get("version"), metadata={"type": "integer"})
    clock_skewed = ma.fields.Function(
        lambda e: e.raw.get("clock_skewed"), metadata={"type": "boolean", "nullable": True}
    )
    failed_items = ma.fields.List(ma.fields.String())
    evidence = ma.fields.Nested(EvidenceSchema)
    changes = ma.fields.Nested(ChangesSchema, allow_none=True)


class DecisionCreateSchema(RequestSchema):
    decision_id = ma.fields.String(
        required=True,
        validate=_UUID,
        metadata={"description": "chosen by the client: the same id again decides once"},
    )
    verdict = ma.fields.String(required=True, validate=ma.validate.OneOf(Status.REVIEWED))
    inspection_version = ma.fields.Integer(
        required=True,
        strict=True,
        validate=ma.validate.Range(min=1, max=2**31),
        metadata={"description": "the version reviewed; another answers 409"},
    )
    reasons = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(1, 20)),
        values=ma.fields.String(validate=ma.validate.Length(1, decisions.REASON_MAX)),
        validate=ma.validate.Length(max=200),
        metadata={"description": "per returned item code, why"},
    )
    note = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=decisions.NOTE_MAX))


class ReviewDecisionSchema(ma.Schema):
    """A decision on an inspection (REST answer and feed copy)."""

    id = ma.fields.String()
    inspection_id = ma.fields.String()
    inspection_version = ma.fields.Integer()
    thread_id = ma.fields.String()
    verdict = ma.fields.String(metadata={"enum": list(Status.REVIEWED)})
    reasons = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    note = ma.fields.String(allow_none=True)
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inspector_id = ObjectIdString()
    reviewer_id = ObjectIdString()
    decided_at = Timestamp()
    created_at = Timestamp()
    updated_at = Timestamp()
