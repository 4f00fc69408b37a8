"""Pushing hazards: an enterprise's manager reports a hazard of their own from a phone
(企业自查上报, docs/domain.md), offline like everything else. Only `create`: a hazard then moves
through its lifecycle (server.services.hazards.lifecycle), never by a phone's edit."""

from __future__ import annotations

import marshmallow as ma

from server.errors import RuleViolation
from server.models.hazard import Level
from server.services.hazards import register
from sync.collections import BY_NAME
from sync.handler import PushContext, PushHandler
from sync.handlers.inspection import InspectionDataLocationSchema

SHA256 = r"^[0-9a-f]{64}$"
PHOTOS_MAX = 20


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


class HazardSelfReportSchema(ma.Schema):
    """What a manager pushes to report a hazard of their enterprise (op `create`)."""

    class Meta:
        unknown = ma.RAISE

    description = ma.fields.String(required=True, validate=ma.validate.Length(1, 2000))
    level = ma.fields.String(required=True, validate=ma.validate.OneOf(Level.ALL))
    place = ma.fields.Nested(HazardPlaceSchema)
    photos = photo_list()
    device_time = ma.fields.AwareDateTime()


class HazardHandler(PushHandler):
    synced = BY_NAME["hazards"]
    kind = "hazard"
    ops = ("create",)

    def __init__(self) -> None:
        self._schema = HazardSelfReportSchema()

    def data_schema(self, op: str) -> ma.Schema:
        return self._schema

    def create(self, ctx: PushContext, data: dict) -> dict:
        return register.self_report(ctx.actor, data, now=ctx.now)

    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        raise RuleViolation("a hazard changes through its transitions, not by a push")

    def photos(self, doc: dict) -> list[str]:
        return list(doc.get("photos") or ())
