"""The audit log's storage: events in hash chains (`audit_events`) and signatures of chain heads
(`audit_signatures`). See server.services.audit and README, "Audit log".

Append-only: events are written by `server.services.audit.chain` with raw inserts (their hash
covers exactly the stored fields) and the application never updates or deletes one; these
classes exist for the indexes and for reading, and refuse every write through mongoengine.
"""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    QuerySet,
    StringField,
)

HEX64 = r"^[0-9a-f]{64}$"


class AppendOnlyQuerySet(QuerySet):
    """Reads only: a stored event or signature is never changed or removed."""

    def update(self, *args, **kwargs):
        raise TypeError(f"{self._document.__name__} is append-only")

    def update_one(self, *args, **kwargs):
        raise TypeError(f"{self._document.__name__} is append-only")

    def modify(self, *args, **kwargs):
        raise TypeError(f"{self._document.__name__} is append-only")

    def delete(self, *args, **kwargs):
        raise TypeError(f"{self._document.__name__} is append-only")


class _AppendOnly(Document):
    meta = {"abstract": True, "queryset_class": AppendOnlyQuerySet}

    def save(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is written by server.services.audit.chain only")

    def update(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is append-only")

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is append-only")


class AuditEvent(_AppendOnly):
    #: "<chain>:<n:012d>": the unique `_id` is what gives a number to exactly one event.
    id = StringField(primary_key=True)
    #: A jurisdiction id, or "system".
    chain = StringField(required=True)
    n = IntField(required=True, min_value=1)
    #: Idempotency key (`<outbox entry id>:<i>`, or `<action>:<object id>` for one-off changes).
    key = StringField(required=True)
    #: Server time of the change; device time beside it where a device reported one.
    at = DateTimeField(required=True)
    device_time = DateTimeField(null=True)
    #: {user_id, role, device_id}
    actor = DictField(required=True)
    #: "<object>.<verb>", e.g. "user.create", "token.revoke", "photo.arrive".
    action = StringField(required=True)
    #: {kind, id}
    object = DictField(required=True)
    #: SHA-256 of the object's state before and after (null: it did not exist / no longer does).
    before = StringField(null=True, regex=HEX64)
    after = StringField(null=True, regex=HEX64)
    request_id = StringField(null=True)
    #: SHA-256 of the photo bytes the event names (exported with the chain on request).
    photos = ListField(StringField(regex=HEX64))
    #: Hash of event n-1 of the chain (null for n = 1), and this event's own hash.
    prev = StringField(null=True, regex=HEX64)
    hash = StringField(required=True, regex=HEX64)

    meta = {
        "collection": "audit_events",
        # Unique: a retried job or a racing appender cannot store an event twice, and the
        # embedded server answers the `$in` on keys from this index.
        # A case file reads one object's events, and those naming its photos, in its chain.
        "indexes": [
            {"fields": ["key"], "unique": True},
            ("chain", "object.id"),
            ("chain", "photos"),
        ],
    }


class AuditSignature(_AppendOnly):
    #: "<chain>:<n:012d>", the `_id` of the event whose hash is signed.
    id = StringField(primary_key=True)
    chain = StringField(required=True)
    n = IntField(required=True, min_value=1)
    hash = StringField(required=True, regex=HEX64)
    signed_at = DateTimeField(required=True)
    #: First 16 hex digits of SHA-256 of the raw Ed25519 public key.
    key_id = StringField(required=True, regex=r"^[0-9a-f]{16}$")
    #: Base64 Ed25519 signature of the canonical head (server.services.audit.signing).
    signature = StringField(required=True)

    meta = {"collection": "audit_signatures"}
