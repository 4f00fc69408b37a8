"""Published gas-limit versions: the gas-test rules of checklists/data/gas_limits.yaml, one
immutable version per edition, synced to phones that decide confined-space entries offline."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, IntField, ListField, ObjectIdField, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience
from server.models.synced import SyncedDocument

#: The rules every entry decision applies: for everyone, like the checklists.
AUDIENCE = Audience({role: EVERYONE for role in Role})


class GasLimitsVersion(SyncedDocument):
    audience = AUDIENCE

    #: The version number (the file's edition).
    id = IntField(primary_key=True, min_value=1)
    #: SHA-256 of the canonical JSON of the file; equal rules, equal hash.
    content_hash = StringField(required=True, regex=r"^[0-9a-f]{64}$")
    #: The file as published (sources, params, minimum set, regimes, timings, changelog).
    content = DictField(required=True)
    #: What changed from the previous version, why and the source, in both locales.
    changelog = ListField(DictField(), default=list)
    published_at = DateTimeField(required=True, default=utcnow)
    published_by = ObjectIdField()

    meta = {
        "collection": "gas_limit_versions",
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}],
    }
