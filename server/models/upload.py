"""A resumable (tus) photo upload in progress: who sends what, how far it got, where the bytes are.

The offset only moves by a conditional update on this one document (`{_id, offset: o}`), the
one atomic step every MongoDB-wire server gives; the received bytes live as staged chunks in
the blob store, listed in `segments` in order. `attempts` records PATCHes that started writing,
so the chunks of one that crashed or lost a race can be found and deleted by `_id`.

States: `receiving` → (last byte) `ingesting` → `complete` (the photo exists; `segments` then
belong to the photo's blob and the record only answers HEAD until it expires).
"""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from server.models.audience import ScopedQuerySet, owned

RECEIVING, INGESTING, COMPLETE = "receiving", "ingesting", "complete"


#: Only the uploader continues, inspects or ends an upload; admins may too.
AUDIENCE = owned("uploader_id")


class Upload(Document):
    audience = AUDIENCE

    #: Random, unguessable; part of the upload URL.
    id = StringField(primary_key=True)
    uploader_id = ObjectIdField(required=True)
    #: Total bytes announced at creation (`Upload-Length`) and bytes received so far.
    length = IntField(required=True, min_value=1)
    offset = IntField(required=True, default=0)
    state = StringField(required=True, default=RECEIVING, choices=[RECEIVING, INGESTING, COMPLETE])
    #: `Upload-Metadata` as parsed (sha256, filename, content_type, link_*, item_code) and as
    #: sent (echoed on HEAD).
    sha256 = StringField(required=True)
    filename = StringField()
    content_type = StringField()
    link_kind = StringField(required=True)
    link_id = StringField(required=True)
    item_code = StringField()
    metadata_header = StringField()
    #: The phone's clock when it created the upload, beside the server's at the same moment.
    device_time = DateTimeField()
    #: `camera` or `library` as the app declared it (media.tus.CAPTURES); None: not said.
    capture = StringField()
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    expires_at = DateTimeField(required=True)
    #: Staged parts received so far, in order: [{"prefix", "size"}].
    segments = ListField(DictField())
    #: PATCHes that started writing and have not committed: [{"prefix", "start", "holder",
    #: "since"}] (`media.holder`).
    attempts = ListField(DictField())
    ingest_claimed_at = DateTimeField()
    #: The process ingesting it and since when (`media.holder`): {"id", "since"}.
    ingest_holder = DictField()
    photo_id = StringField()
    #: Outbox witness tokens (server.services.outbox): the update that completes the upload
    #: pushes the id of the entry that runs the photo's arrival hooks.
    outbox = ListField(StringField())

    meta = {
        "collection": "media_uploads",
        "queryset_class": ScopedQuerySet,
        # The conditional updates filter on exactly these keys: unique (trivially, it holds
        # `_id`) so the embedded server uses it too instead of scanning every upload.
        "indexes": [{"fields": ("id", "offset", "state"), "unique": True}],
    }

    def staged_parts(self) -> list[dict]:
        """Every staged part this upload may have written: committed segments, and open
        attempts (sized to the most they could hold; deleting absent chunks is harmless)."""
        return [dict(s) for s in self.segments] + self.attempt_parts()

    def attempt_parts(self) -> list[dict]:
        """The staged parts of open attempts, sized to the most they could hold."""
        return [{"prefix": a["prefix"], "size": self.length - a["start"]} for a in self.attempts]
