"""Photo evidence: the content once per SHA-256, and what each upload context made of it.

A `Photo` (`_id` = SHA-256 of the original bytes) is what the bytes alone determine and every
upload of them shares: format, size, the blob of the original (same hash) and of the
thumbnail, and the ids of its contexts. A `PhotoContext` is one uploader's evidence for one
object (`_id` from sha256, uploader and link target: `context_key`): who sent it, when, with
which filename and device clock, what the camera said as that upload carried it, its links
(one per item code of that object), and the watermarked review copy stamped for it (that
object's enterprise, that uploader). Two tenants who upload the same bytes share the blob
and the thumbnail and nothing else; who sees a context is `media.links.can_see`.

A context is announced on its photo (`contexts`, `$addToSet` by `_id`) before it is written,
so reading a photo's contexts is two lookups by `_id` however many photos are stored; an id
announced by an ingest that never finished names nothing and is skipped.
"""

from __future__ import annotations

import hashlib

from bson import ObjectId
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

from server.actor import Actor, Role
from server.models.audience import EVERYONE, Audience, ScopedQuerySet, owned


def link_key(kind: str, link_id: str, item_code: str | None) -> str:
    """What makes two links the same link (a photo is evidence once per item)."""
    return f"{kind}:{link_id}:{item_code or ''}"


def context_key(sha256: str, uploader_id: ObjectId, kind: str, link_id: str) -> str:
    """The id of the context of `uploader_id`'s uploads of `sha256` linked to one object:
    the same for every upload of it (idempotent), unguessable without all four."""
    text = f"photo-context/1\n{sha256}\n{uploader_id}\n{kind}\n{link_id}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


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


#: Only admins read the shared content record directly; everyone else reaches a photo through
#: a context they may see (`media.links.can_see`).
PHOTO_AUDIENCE = Audience({Role.ADMIN: EVERYONE})


class Photo(Document):
    audience = PHOTO_AUDIENCE

    id = StringField(primary_key=True)
    #: Sniffed from the bytes (JPEG, PNG, WEBP), never taken from the client.
    format = StringField(required=True)
    content_type = StringField(required=True)
    size = IntField(required=True)
    #: As stored (before EXIF orientation); `orientation` says how to turn it upright.
    width = IntField(required=True)
    height = IntField(required=True)
    orientation = IntField()
    #: Blob hash of the upright thumbnail (no watermark, no EXIF: the bytes' alone).
    thumbnail = StringField(required=True)
    #: Ids of its contexts, announced before each is written (`$addToSet` by `_id`).
    contexts = ListField(StringField())

    meta = {
        "collection": "photos",
        "queryset_class": ScopedQuerySet,
        # Documents of the one-record-per-hash layout load until `media.split` converts them.
        "strict": False,
    }


#: Admins see every context; anyone else their own uploads. Who else sees one through what it
#: is evidence for is the link owners' answer (`media.links.can_see`, the one rule for photos).
CONTEXT_AUDIENCE = owned("uploader_id")


class PhotoContext(Document):
    audience = CONTEXT_AUDIENCE

    #: `context_key(photo, uploader_id, target_kind, target_id)`.
    id = StringField(primary_key=True)
    #: The content (`Photo` id, the SHA-256).
    photo = StringField(required=True)
    #: The uploader as they were when they made the context: the tenant it belongs to.
    uploader_id = ObjectIdField(required=True)
    uploader_role = StringField(choices=[r.value for r in Role])
    jurisdiction_id = ObjectIdField()
    uploader_enterprise_id = ObjectIdField()
    #: The object it is evidence for (every link has this kind and id).
    target_kind = StringField(required=True)
    target_id = StringField(required=True)
    #: Made before the object existed (a phone's upload that overtook its push): it shows
    #: through the object only if its uploader may see the object once it exists.
    pending = BooleanField(required=True, default=False)
    #: The object's enterprise (printed on the watermark), else the uploader's.
    enterprise_id = ObjectIdField()
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
    received_at = DateTimeField(required=True)
    device_time = DateTimeField()
    #: How the app says it got the picture (media.tus.CAPTURES), as the upload declared it.
    capture = StringField()
    clock_skew_seconds = FloatField()
    skew_flag = BooleanField(required=True, default=False)
    #: Blob hash of the review copy and the watermark printed on it, line by line.
    review = StringField(required=True)
    watermark = ListField(StringField())
    links = EmbeddedDocumentListField(PhotoLink)
    #: `link_key` of every link: `$addToSet` on it, by `_id` alone, decides atomically which
    #: request adds a link (a filter on `links` would scan every context on the embedded
    #: server).
    link_keys = ListField(StringField())

    meta = {"collection": "photo_contexts", "queryset_class": ScopedQuerySet}

    def uploader(self) -> Actor | None:
        """The uploader as an actor of their tenant then (None when the role is unknown)."""
        if not self.uploader_role:
            return None
        return Actor(
            user_id=self.uploader_id,
            role=Role(self.uploader_role),
            jurisdiction_id=self.jurisdiction_id,
            enterprise_id=self.uploader_enterprise_id,
        )
