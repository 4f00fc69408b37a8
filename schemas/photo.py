"""Photo evidence as the API shows it: what the camera said, what the server knows, links."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import ObjectIdString, Timestamp


class GpsSchema(ma.Schema):
    latitude = ma.fields.Float(metadata={"description": "WGS-84 decimal degrees"})
    longitude = ma.fields.Float()
    altitude = ma.fields.Float(allow_none=True, metadata={"description": "metres"})


class PhotoLinkSchema(ma.Schema):
    kind = ma.fields.String(metadata={"example": "inspection"})
    id = ma.fields.String()
    item_code = ma.fields.String(allow_none=True)
    linked_by = ObjectIdString()
    linked_at = Timestamp()


class PhotoSchema(ma.Schema):
    id = ma.fields.String(metadata={"description": "SHA-256 of the original bytes"})
    format = ma.fields.String(metadata={"example": "JPEG"})
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    width = ma.fields.Integer()
    height = ma.fields.Integer()
    orientation = ma.fields.Integer(allow_none=True)
    filename = ma.fields.String(allow_none=True)
    captured_local = ma.fields.String(
        allow_none=True, metadata={"description": "DateTimeOriginal as the camera wrote it"}
    )
    captured_offset = ma.fields.String(allow_none=True, metadata={"example": "+08:00"})
    captured_at = Timestamp(
        allow_none=True, metadata={"description": "the instant, when the camera gave its offset"}
    )
    gps = ma.fields.Nested(
        GpsSchema,
        allow_none=True,
        metadata={"description": "omitted for roles that may not see positions"},
    )
    make = ma.fields.String(allow_none=True)
    model = ma.fields.String(allow_none=True)
    exif = ma.fields.Dict(metadata={"description": "cleaned EXIF: image, exif, gps groups"})
    uploader_id = ObjectIdString()
    received_at = Timestamp()
    device_time = Timestamp(allow_none=True)
    clock_skew_seconds = ma.fields.Float(allow_none=True)
    skew_flag = ma.fields.Boolean()
    links = ma.fields.List(ma.fields.Nested(PhotoLinkSchema))
    thumbnail_url = ma.fields.Function(lambda p: f"/api/v1/photos/{p.id}/thumbnail")
    review_url = ma.fields.Function(lambda p: f"/api/v1/photos/{p.id}/review")
    original_url = ma.fields.Function(lambda p: f"/api/v1/photos/{p.id}/original")
