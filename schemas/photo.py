"""Photo evidence as the API shows it: what the bytes are (shared by every upload of them),
and one upload context of them — what the camera said and the server knows, its links and its
watermark — with the ids of the other contexts the caller may see."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import JSON_SCALAR_OR_LIST, ObjectIdString, RequestSchema, Timestamp

CONTEXT_ID = r"^[0-9a-f]{32}$"


class PhotoQuerySchema(RequestSchema):
    context = ma.fields.String(
        validate=ma.validate.Regexp(CONTEXT_ID),
        metadata={
            "description": "an upload context of the photo (one of `contexts`); by default "
            "the caller's own oldest, else the oldest they may see"
        },
    )


def _tags(group: str) -> ma.fields.Dict:
    return ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(metadata=JSON_SCALAR_OR_LIST),
        metadata={"description": f"{group} tags by name: text, numbers, booleans or lists"},
    )


class ExifSchema(ma.Schema):
    image = _tags("IFD0")
    exif = _tags("Exif IFD")
    gps = _tags("GPS IFD (omitted with `gps`)")


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


def _url(shown, which: str) -> str:
    return f"/api/v1/photos/{shown.photo.id}/{which}"


class PhotoSchema(ma.Schema):
    """Dumps a `media.links.Shown`: the photo through one of its contexts."""

    id = ma.fields.String(
        attribute="photo.id", metadata={"description": "SHA-256 of the original bytes"}
    )
    format = ma.fields.String(attribute="photo.format", metadata={"example": "JPEG"})
    content_type = ma.fields.String(attribute="photo.content_type")
    size = ma.fields.Integer(attribute="photo.size")
    width = ma.fields.Integer(attribute="photo.width")
    height = ma.fields.Integer(attribute="photo.height")
    orientation = ma.fields.Integer(attribute="photo.orientation", allow_none=True)
    context = ma.fields.String(
        attribute="context.id",
        metadata={"description": "the context shown: one uploader's evidence for one object"},
    )
    contexts = ma.fields.Function(
        lambda shown: [c.id for c in shown.contexts],
        metadata={
            "type": "array",
            "items": {"type": "string"},
            "description": "every context of the photo the caller may see, oldest first",
        },
    )
    filename = ma.fields.String(attribute="context.filename", allow_none=True)
    captured_local = ma.fields.String(
        attribute="context.captured_local",
        allow_none=True,
        metadata={"description": "DateTimeOriginal as the camera wrote it"},
    )
    captured_offset = ma.fields.String(
        attribute="context.captured_offset", allow_none=True, metadata={"example": "+08:00"}
    )
    captured_at = Timestamp(
        attribute="context.captured_at",
        allow_none=True,
        metadata={"description": "the instant, when the camera gave its offset"},
    )
    gps = ma.fields.Nested(
        GpsSchema,
        attribute="context.gps",
        allow_none=True,
        metadata={"description": "omitted for roles that may not see positions"},
    )
    make = ma.fields.String(attribute="context.make", allow_none=True)
    model = ma.fields.String(attribute="context.model", allow_none=True)
    exif = ma.fields.Nested(
        ExifSchema, attribute="context.exif", metadata={"description": "cleaned EXIF (media.exif)"}
    )
    uploader_id = ObjectIdString(attribute="context.uploader_id")
    received_at = Timestamp(attribute="context.received_at")
    device_time = Timestamp(attribute="context.device_time", allow_none=True)
    capture = ma.fields.String(
        attribute="context.capture",
        allow_none=True,
        metadata={
            "enum": ["camera", "library", None],
            "description": "as the app declared it: its own camera, or the gallery",
        },
    )
    clock_skew_seconds = ma.fields.Float(attribute="context.clock_skew_seconds", allow_none=True)
    skew_flag = ma.fields.Boolean(attribute="context.skew_flag")
    watermark = ma.fields.List(
        ma.fields.String(),
        attribute="context.watermark",
        metadata={"description": "the lines printed on this context's review copy"},
    )
    links = ma.fields.List(ma.fields.Nested(PhotoLinkSchema), attribute="context.links")
    thumbnail_url = ma.fields.Function(
        lambda shown: _url(shown, "thumbnail"), metadata={"type": "string"}
    )
    review_url = ma.fields.Function(
        lambda shown: f"{_url(shown, 'review')}?context={shown.context.id}",
        metadata={"type": "string", "description": "this context's watermarked copy"},
    )
    original_url = ma.fields.Function(
        lambda shown: _url(shown, "original"), metadata={"type": "string"}
    )
