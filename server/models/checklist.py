"""Published checklist versions: immutable, numbered per template, identified by content hash."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, IntField, ListField, ObjectIdField, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience
from server.models.synced import SyncedDocument

#: Published checklists are for everyone who inspects or is inspected.
AUDIENCE = Audience({role: EVERYONE for role in Role})


class ChecklistVersion(SyncedDocument):
    audience = AUDIENCE

    #: "<code>:<version>", e.g. "CS:3", so that one version reads by primary key.
    id = StringField(primary_key=True)
    code = StringField(required=True, regex=r"^[A-Z]{2}$")
    version = IntField(required=True, min_value=1)
    #: SHA-256 of the canonical bilingual content; equal content, equal hash.
    content_hash = StringField(required=True, regex=r"^[0-9a-f]{64}$")
    #: The full bilingual template as loaded from checklists/data.
    content = DictField(required=True)
    #: The template rendered per locale ("zh-CN", "en"), ready to send to phones.
    localized = DictField(required=True)
    item_count = IntField(required=True)
    #: What changed from the previous version, why and the source, in both locales; synced to
    #: phones with the version itself (the content is downloaded from its URL).
    changelog = ListField(DictField(), default=list)
    published_at = DateTimeField(required=True, default=utcnow)
    published_by = ObjectIdField()

    meta = {
        "collection": "checklist_versions",
        "indexes": [
            {"fields": ["code", "version"], "unique": True},
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
        ],
    }

    @staticmethod
    def key(code: str, version: int) -> str:
        return f"{code}:{version}"
