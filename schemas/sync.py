"""Request and response bodies of offline sync: pull, push and device status."""

from __future__ import annotations

import marshmallow as ma

from schemas.alarm import AlarmSchema
from schemas.common import (
    JSON_VALUE,
    MONGO_INT_MAX,
    AsIs,
    ObjectIdString,
    OneOfNested,
    RequestSchema,
    Timestamp,
)
from schemas.hazard import HazardCopySchema
from schemas.identity import RegimeOverrideSchema
from schemas.inspection import InspectionSchema
from schemas.order import NumberBlockSchema, OrderSchema
from schemas.permit import PermitRecordSchema, PermitSchema
from schemas.problem import ProblemSchema
from schemas.review import ReviewDecisionSchema
from schemas.violation import ViolationSchema
from server.clock import DEVICE_TIMES
from server.models.device import DEVICE_ID_PATTERN
from server.models.synced import UUID_PATTERN
from sync.feed import DEFAULT_LIMIT, MAX_LIMIT
from sync.handler import OPS
from sync.handlers.entry_decision import EntryDecisionDataSchema
from sync.handlers.hazard import HazardSelfReportSchema
from sync.handlers.inspection import InspectionDataSchema

_COUNT = ma.validate.Range(min=0, max=MONGO_INT_MAX)
_DEVICE_TIME = ma.validate.Range(*DEVICE_TIMES)


class DeviceReportSchema(RequestSchema):
    """What the phone says about itself at each sync (stored for device observability)."""

    device_id = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(DEVICE_ID_PATTERN),
        metadata={"example": "android-5f1c2b9e"},
    )
    device_time = ma.fields.AwareDateTime(
        load_default=None,
        validate=_DEVICE_TIME,
        metadata={"description": "the phone's clock when it sent this"},
    )
    pending_mutations = ma.fields.Integer(load_default=None, validate=_COUNT)
    pending_photo_bytes = ma.fields.Integer(load_default=None, validate=_COUNT)
    oldest_unsynced_at = ma.fields.AwareDateTime(load_default=None, validate=_DEVICE_TIME)
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


class PointSchema(ma.Schema):
    """GeoJSON point: `coordinates` is [longitude, latitude]."""

    type = ma.fields.String(metadata={"enum": ["Point"]})
    coordinates = ma.fields.List(ma.fields.Float())


class EnterpriseCopySchema(ma.Schema):
    """An enterprise as the feed delivers it."""

    id = ObjectIdString()
    name = ma.fields.String()
    credit_code = ma.fields.String()
    industry = ma.fields.String()
    industry_code = ma.fields.String(allow_none=True)
    regime = ma.fields.String(allow_none=True)
    regime_override = ma.fields.Nested(RegimeOverrideSchema, allow_none=True)
    has_confined_spaces = ma.fields.Boolean(allow_none=True)
    altitude_m = ma.fields.Float(allow_none=True)
    poisoning_risk = ma.fields.Boolean(allow_none=True)
    address = ma.fields.String()
    location = ma.fields.Nested(PointSchema, allow_none=True)
    jurisdiction_id = ObjectIdString()
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class SpaceCopySchema(ma.Schema):
    """A confined space of the ledger as the feed delivers it."""

    id = ObjectIdString()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    code = ma.fields.String()
    name = ma.fields.String()
    type = ma.fields.String()
    location = ma.fields.Nested(PointSchema, allow_none=True)
    geofence_radius_m = ma.fields.Float()
    depth_m = ma.fields.Float(allow_none=True)
    underground = ma.fields.Boolean()
    gases = ma.fields.List(ma.fields.String())
    ppe = ma.fields.List(ma.fields.String())
    rescue_equipment = ma.fields.List(ma.fields.String())
    explosive = ma.fields.Boolean()
    sign_photo = ma.fields.String(allow_none=True)
    sign_photo_at = Timestamp(allow_none=True)
    status = ma.fields.String()
    label_version = ma.fields.Integer()
    label_issued_at = Timestamp(allow_none=True)
    note = ma.fields.String(allow_none=True)
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class NotificationCopySchema(ma.Schema):
    """A notification to the reader (a hazard's deadline nears, it is overdue, a due date
    passed unanswered), as the feed delivers it."""

    id = ma.fields.String()
    recipient_id = ObjectIdString()
    kind = ma.fields.String(metadata={"enum": ["reminder", "overdue", "escalation"]})
    subject_collection = ma.fields.String()
    subject_id = ma.fields.String()
    text_zh = ma.fields.String()
    text_en = ma.fields.String()
    due_at = Timestamp(allow_none=True)
    version = ma.fields.Integer()
    created_at = Timestamp()


class BilingualTextSchema(ma.Schema):
    zh_cn = ma.fields.String(data_key="zh-CN")
    en = ma.fields.String()


class ChangeEntryCopySchema(ma.Schema):
    """A changelog line as stored: in both languages."""

    items = ma.fields.List(ma.fields.String())
    what = ma.fields.Nested(BilingualTextSchema)
    why = ma.fields.Nested(BilingualTextSchema)
    source = ma.fields.String()


class ChecklistVersionCopySchema(ma.Schema):
    """A published checklist version as the feed delivers it; the content is at `url`."""

    id = ma.fields.String()
    code = ma.fields.String()
    version = ma.fields.Integer()
    content_hash = ma.fields.String()
    item_count = ma.fields.Integer()
    published_at = Timestamp()
    published_by = ObjectIdString(allow_none=True)
    url = ma.fields.String()
    changelog = ma.fields.List(
        ma.fields.Nested(ChangeEntryCopySchema),
        metadata={
            "description": "what changed from the previous version, why, and the source "
            "(items, what/why in zh-CN and en)"
        },
    )


class GasLimitsVersionCopySchema(ma.Schema):
    """A published gas-limits version as the feed delivers it: the whole rules, with which
    the attendant's phone decides entries offline (format: checklists/loader.py)."""

    id = ma.fields.Integer(metadata={"description": "the version number"})
    content_hash = ma.fields.String()
    content = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw(metadata=JSON_VALUE))
    changelog = ma.fields.List(ma.fields.Nested(ChangeEntryCopySchema))
    published_at = Timestamp()
    published_by = ObjectIdString(allow_none=True)


class LabelKeyCopySchema(ma.Schema):
    """A public key that verifies QR labels (server.services.spaces.labels), as the feed
    delivers it: the app verifies a label offline with the keys it holds, refusing those
    retired."""

    id = ma.fields.String(metadata={"description": "the key id a label token carries (hex)"})
    algorithm = ma.fields.String(metadata={"example": "Ed25519"})
    public_key = ma.fields.String(metadata={"description": "the raw public key, base64"})
    signs = ma.fields.Boolean(metadata={"description": "new labels are signed with it"})
    published_at = Timestamp()
    retired_at = Timestamp(
        allow_none=True, metadata={"description": "labels it signed are refused from then on"}
    )
    updated_at = Timestamp()


class ViolationCopySchema(ViolationSchema):
    """A confined-space violation as the feed delivers it (the REST reading)."""

    id = ma.fields.String()


class InspectionCopySchema(InspectionSchema):
    """An inspection as the feed (and a conflict's server copy) delivers it: the REST reading,
    and its deletion (a tombstone follows); enterprise users are not sent where the inspector
    stood, nor the phone."""

    deleted_at = Timestamp(allow_none=True)


def _change_schema(name: str, copy: type[ma.Schema]) -> type[ma.Schema]:
    return ma.Schema.from_dict(
        {
            "collection": ma.fields.String(required=True, metadata={"enum": [name]}),
            "id": ma.fields.String(required=True),
            "op": ma.fields.String(required=True, metadata={"enum": ["upsert", "delete"]}),
            "seq": ma.fields.Integer(required=True),
            "data": ma.fields.Nested(
                copy, metadata={"description": "the current state (upserts only)"}
            ),
        },
        name=f"{copy.__name__.removesuffix('CopySchema')}ChangeSchema",
    )


class RosterCopySchema(ma.Schema):
    """Who is inside a confined space, as the attendant's phone receives it."""

    id = ObjectIdString(metadata={"description": "the space's id"})
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    inside = ma.fields.List(ObjectIdString())
    headcount = ma.fields.Integer()
    entered_on = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(metadata=JSON_VALUE),
        metadata={"description": "per worker inside, what their entry was made on"},
    )
    attendants = ma.fields.List(ObjectIdString())
    emptied_at = Timestamp(allow_none=True)
    alarms = ma.fields.List(ma.fields.String(), metadata={"description": "open alarms' ids"})
    seq = ma.fields.Integer(metadata={"description": "the roster's change number"})


class EntryDecisionCopySchema(ma.Schema):
    """An entry decided offline by an attendant's phone, as merged and judged again by the
    server (its flags name what should have been denied)."""

    id = ma.fields.String()
    space_id = ObjectIdString()
    enterprise_id = ObjectIdString()
    jurisdiction_id = ObjectIdString()
    permit_id = ma.fields.String()
    worker_id = ObjectIdString()
    by = ObjectIdString()
    action = ma.fields.String()
    allowed = ma.fields.Boolean()
    reasons = ma.fields.List(ma.fields.String())
    gas_limits_version = ma.fields.Integer()
    device_id = ma.fields.String(allow_none=True)
    device_seq = ma.fields.Integer()
    device_time = Timestamp()
    synced_through = ma.fields.String(allow_none=True)
    synced_seq = ma.fields.Integer(allow_none=True)
    synced_at = Timestamp(allow_none=True)
    key_id = ma.fields.String(allow_none=True)
    merge_state = ma.fields.String()
    merged_at = Timestamp(allow_none=True)
    judged_at = Timestamp(allow_none=True)
    server_allowed = ma.fields.Boolean(allow_none=True)
    server_reasons = ma.fields.List(ma.fields.Raw(metadata=JSON_VALUE))
    flags = ma.fields.List(ma.fields.Raw(metadata=JSON_VALUE))
    flagged = ma.fields.Boolean()
    roster_seq = ma.fields.Integer(allow_none=True)
    entry_event_id = ObjectIdString(allow_none=True)
    received_at = Timestamp()
    version = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


#: The document schema of each collection in the feed, by its name there.
COPIES = {
    "checklist_versions": ChecklistVersionCopySchema,
    "gas_limit_versions": GasLimitsVersionCopySchema,
    "label_keys": LabelKeyCopySchema,
    "enterprises": EnterpriseCopySchema,
    "inspections": InspectionCopySchema,
    "spaces": SpaceCopySchema,
    "hazards": HazardCopySchema,
    "notifications": NotificationCopySchema,
    # The REST readings, which are the stored documents too.
    "orders": OrderSchema,
    "number_blocks": NumberBlockSchema,
    "permits": PermitSchema,
    "permit_records": PermitRecordSchema,
    "alarms": AlarmSchema,
    "rosters": RosterCopySchema,
    "entry_decisions": EntryDecisionCopySchema,
    "review_decisions": ReviewDecisionSchema,
    "violations": ViolationCopySchema,
}
CHANGES = {name: _change_schema(name, copy) for name, copy in COPIES.items()}


class PullPageSchema(ma.Schema):
    changes = ma.fields.List(OneOfNested(CHANGES, discriminator="collection"))
    cursor = ma.fields.String()
    has_more = ma.fields.Boolean()
    high_water = ma.fields.Integer()
    server_time = Timestamp()


class MutationSchema(ma.Schema):
    """One pushed mutation (sync.mutation checks it; `data` per operation by the collection's
    handler: for inspections, `create` needs checklist_code, checklist_version, enterprise_id,
    and later operations may not name them; hazards take `create`, an enterprise manager's
    self-report: description, level, place, photos, and `update`, a transition of the
    lifecycle: action and its fields, as sync.handlers.hazard.HazardTransitionDataSchema;
    entry_decisions take `create`, a decision an attendant's phone made offline, signed by its
    device key, as sync.handlers.entry_decision.EntryDecisionDataSchema)."""

    mutation_id = ma.fields.String(required=True, validate=ma.validate.Regexp(UUID_PATTERN))
    collection = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(["inspections", "hazards", "entry_decisions"]),
    )
    op = ma.fields.String(required=True, validate=ma.validate.OneOf(OPS))
    id = ma.fields.String(required=True, validate=ma.validate.Regexp(UUID_PATTERN))
    base_version = ma.fields.Integer(
        validate=ma.validate.Range(min=1),
        metadata={"description": "the version the phone changed; required but for a create"},
    )
    data = OneOfNested(
        {
            "inspections": InspectionDataSchema("update"),
            "hazards": HazardSelfReportSchema,
            "entry_decisions": EntryDecisionDataSchema,
        },
        metadata={"description": "the collection's data for the operation"},
    )


class PushSchema(DeviceReportSchema):
    mutations = ma.fields.List(
        AsIs(MutationSchema),
        required=True,
        metadata={
            "description": "checked one by one so that a bad record gets its own rejected receipt"
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
    server_copy = AsIs(
        InspectionCopySchema,
        metadata={"description": "conflict only: the server's document, as the feed has it"},
    )
    retryable = ma.fields.Boolean(
        metadata={
            "description": "rejected only: true when the same mutation (same id) may be sent "
            "again later (what it names has not reached the server yet); false when it never "
            "will apply as sent"
        }
    )
    problem = AsIs(ProblemSchema, metadata={"description": "rejected only"})


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
