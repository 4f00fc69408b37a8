"""Photo evidence: one record per distinct content (`_id` = SHA-256 of the original bytes).

What the camera said (capture time, GPS, device, cleaned EXIF) beside what the server knows
(uploader, receive time, the device clock's skew), the blob hashes of the original and its
derived copies, and every object the photo is evidence for (`links`, added idempotently: the
same photo linked twice to the same item is one link).
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    EmbeddedDocumentListField,
    FloatField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)


def link_key(kind: str, link_id: str, item_code: str | None) -> str:
    """What makes two links the same link (a photo is evidence once per item)."""
    return f"{kind}:{link_id}:{item_code or ''}"


class Gps(EmbeddedDocument):
    """WGS-84 position from the camera's GPS IFD, in decimal degrees."""

    latitude = FloatField(required=True, min_value=-90, max_value=90)
    longitude = FloatField(required=True, min_value=-180, max_value=180)
    altitude = FloatField()


class PhotoLink(EmbeddedDocument):
    key = StringField(required=True)
    kind = StringField(required=True)
    id = StringField(required=True)
    item_code = StringField()
    linked_by = ObjectIdField(required=True)
    linked_at = DateTimeField(required=True)


class Photo(Document):
    id = StringField(primary_key=True)
    #: Sniffed from the bytes (JPEG, PNG, WEBP), never taken from the client.
    format = StringField(required=True)
    content_type = StringField(required=True)
    size = IntField(required=True)
    #: As stored (before EXIF orientation); `orientation` says how to turn it upright.
    width = IntField(required=True)
    height = IntField(required=True)
    orientation = IntField()
    filename = StringField()
    #: DateTimeOriginal as the camera wrote it, its UTC offset when the camera gave one, and
    #: the instant (UTC) when the offset is known.
    captured_local = StringField()
    captured_offset = StringField()
    captured_at = DateTimeField()
    gps = EmbeddedDocumentField(Gps)
    make = StringField()
    model = StringField()
    exif = DictField()
    uploader_id = ObjectIdField(required=True)
    enterprise_id = ObjectIdField()
    received_at = DateTimeField(required=True)
    device_time = DateTimeField()
    clock_skew_seconds = FloatField()
    skew_flag = BooleanField(required=True, default=False)
    #: Blob hashes of the derived copies (the original's is `id`).
    thumbnail = StringField(required=True)
    review = StringField(required=True)
    links = EmbeddedDocumentListField(PhotoLink)
    #: `link_key` of every link: `$addToSet` on it, by `_id` alone, decides atomically which
    #: request adds a link (a filter on `links` would scan all photos on the embedded server).
    link_keys = ListField(StringField())

    meta = {"collection": "photos"}
