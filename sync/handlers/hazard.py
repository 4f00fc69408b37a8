"""Pushing hazards: an enterprise's manager reports a hazard of their own from a phone
(企业自查上报, docs/domain.md), offline like everything else (`create`); and phones take the
lifecycle's transitions where the work is done (`update` with an `action`): the firm reports
its rectification with its "after" photos, an inspector records the re-inspection at the place
and closes. A transition is decided by the lifecycle exactly as over REST
(server.services.hazards.lifecycle.decide), never as a free edit of the document."""

from __future__ import annotations

import marshmallow as ma

from server.models.hazard import Level
from server.services.hazards import lifecycle, register
from sync.collections import BY_NAME
from sync.handler import PushContext, PushHandler
from sync.handlers.inspection import InspectionDataLocationSchema

SHA256 = r"^[0-9a-f]{64}$"
PHOTOS_MAX = 20
#: The transitions taken where the work is done (the others belong to the office: REST).
PHONE_ACTIONS = (
    "acknowledge",
    "interim_measures",
    "request_extension",
    "report_rectified",
    "start_reinspection",
    "record_reinspection",
    "apply_closeout",
    "close",
    "fail",
)


def photo_list() -> ma.fields.List:
    """Photo evidence named by SHA-256 (link kind `hazard`)."""
    return ma.fields.List(
        ma.fields.String(validate=ma.validate.Regexp(SHA256)),
        validate=ma.validate.Length(max=PHOTOS_MAX),
        metadata={"description": "SHA-256 of photos (link kind `hazard`)"},
    )


class HazardPlaceSchema(ma.Schema):
    """Where the hazard is: a GPS position, a confined space of the ledger, and/or words."""

    class Meta:
        unknown = ma.RAISE

    location = ma.fields.Nested(InspectionDataLocationSchema)
    space_id = ma.fields.String(validate=ma.validate.Length(1, 64))
    text = ma.fields.String(validate=ma.validate.Length(1, 200))


class ReinspectionSchema(ma.Schema):
    """A re-inspection at the hazard's place: the device's GPS fix and/or the space's QR label
    as scanned, and the photos taken there (server.services.hazards.closeout)."""

    class Meta:
        unknown = ma.RAISE

    location = ma.fields.Nested(InspectionDataLocationSchema)
    label = ma.fields.String(
        validate=ma.validate.Length(1, 1000),
        metadata={"description": "the space's QR label as scanned (its URL or bare token)"},
    )
    photos = photo_list()
    note = ma.fields.String(validate=ma.validate.Length(1, 2000))


class PlanSchema(ma.Schema):
    """五落实: measures, funds, deadline, responsible person, contingency (docs/domain.md)."""

    class Meta:
        unknown = ma.RAISE

    measures = ma.fields.String(validate=ma.validate.Length(1, 2000))
    funds = ma.fields.String(validate=ma.validate.Length(1, 200))
    deadline = ma.fields.Date()
    responsible_person = ma.fields.String(validate=ma.validate.Length(1, 100))
    contingency = ma.fields.String(validate=ma.validate.Length(1, 2000))


class HazardTransitionDataSchema(ma.Schema):
    """A transition a phone takes (op `update`; `base_version` names the version decided on)."""

    class Meta:
        unknown = ma.RAISE

    action = ma.fields.String(required=True, validate=ma.validate.OneOf(PHONE_ACTIONS))
    reason = ma.fields.String(validate=ma.validate.Length(1, 2000))
    note = ma.fields.String(validate=ma.validate.Length(1, 2000))
    deadline = ma.fields.Date(
        metadata={"description": "the day by which (its 24:00 in Asia/Shanghai)"}
    )
    measures = ma.fields.String(validate=ma.validate.Length(1, 2000))
    plan = ma.fields.Nested(PlanSchema)
    photos = photo_list()
    application = ma.fields.String(validate=ma.validate.Length(1, 2000))
    reinspection = ma.fields.Nested(ReinspectionSchema)
    device_time = ma.fields.AwareDateTime()


class HazardSelfReportSchema(ma.Schema):
    """What a manager pushes to report a hazard of their enterprise (op `create`)."""

    class Meta:
        unknown = ma.RAISE

    description = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(Level.ALL))
    place = ma.fields.Nested(HazardPlaceSchema)
    photos = photo_list()
    device_time = ma.fields.AwareDateTime()


#: Where `changes` keeps, within one push, the hazard each transition was decided on.
_BEFORE = "hazards.before"


class HazardHandler(PushHandler):
    synced = BY_NAME["hazards"]
    kind = "hazard"
    ops = ("create", "update")

    def __init__(self, label_keys: tuple = ()) -> None:
        #: The keys that verify a space's QR label scanned at a re-inspection.
        self._label_keys = label_keys
        self._schemas = {"create": HazardSelfReportSchema(), "update": HazardTransitionDataSchema()}

    def data_schema(self, op: str) -> ma.Schema:
        return self._schemas[op]

    def create(self, ctx: PushContext, data: dict) -> dict:
        return register.self_report(ctx.actor, data, now=ctx.now)

    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        params = {k: v for k, v in data.items() if k not in ("action", "device_time")}
        update = lifecycle.decide(
            ctx.actor, current, data["action"], params, now=ctx.now, label_keys=self._label_keys
        )
        ctx.memo.setdefault(_BEFORE, {})[current["_id"]] = current
        # The engine writes `$set` alone (it increments the versions itself): lists in full.
        sets = {k: v for k, v in update["$set"].items() if k not in ("updated_at", "sync_seq")}
        for field, value in update.get("$push", {}).items():
            sets[field] = [*(current.get(field) or ()), value]
        return sets

    def settle(self, ctx: PushContext, docs: list[dict]) -> None:
        before = ctx.memo.get(_BEFORE, {})
        for doc in docs:
            if doc["_id"] in before:  # a transition (a create needs no timer)
                lifecycle.after_write(before[doc["_id"]], doc, ctx.actor, now=ctx.now)

    def photos(self, doc: dict) -> list[str]:
        return list(doc.get("photos") or ())
