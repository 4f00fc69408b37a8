"""The collections phones sync, registered in one place: adding one is one entry in REGISTRY.

Each entry names the mongoengine document, how to compute a document's audience (`scope`,
stored with every feed entry), who may see a scope (`visible`, the same rule as the model's
scoped queryset), the fields the sequencer needs, and how a document looks on the phone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.actor import Actor
from server.models import checklist, enterprise, inspection

#: Fields never sent to phones: bookkeeping of the feed and of idempotent push.
HIDDEN = frozenset({"sync_seq", "sync_rev", "sync_scope", "mutation_ids", "_cls"})


@dataclass(frozen=True)
class SyncedCollection:
    name: str
    document: type
    scope: Callable[[dict], dict]
    visible: Callable[[Actor, dict], bool]
    #: Fields the sequencer reads to compute the scope (beyond _id and the sync fields).
    scope_fields: tuple[str, ...] = ()
    #: Fields left out of the phone's copy (large or server-only).
    omit: frozenset[str] = frozenset()
    #: Extra fields computed for the phone from the raw document.
    extra: Callable[[dict], dict] | None = None

    @property
    def collection(self) -> str:
        return self.document._get_collection_name()

    def to_phone(self, raw: dict) -> dict:
        """The copy a phone stores (BSON values are left for the JSON encoder)."""
        out = {
            ("id" if k == "_id" else k): v
            for k, v in raw.items()
            if k not in HIDDEN and k not in self.omit
        }
        if self.extra:
            out.update(self.extra(raw))
        return out


def _checklist_links(raw: dict) -> dict:
    return {"url": f"/api/v1/checklists/{raw['code']}/versions/{raw['version']}"}


REGISTRY: tuple[SyncedCollection, ...] = (
    SyncedCollection(
        name="checklist_versions",
        document=checklist.ChecklistVersion,
        scope=checklist.feed_scope,
        visible=checklist.feed_visible,
        # The phone downloads the content from the versioned URL (ETag-cached, immutable).
        omit=frozenset({"content", "localized"}),
        extra=_checklist_links,
    ),
    SyncedCollection(
        name="enterprises",
        document=enterprise.Enterprise,
        scope=enterprise.feed_scope,
        visible=enterprise.feed_visible,
        scope_fields=("jurisdiction_id",),
    ),
    SyncedCollection(
        name="inspections",
        document=inspection.Inspection,
        scope=inspection.feed_scope,
        visible=inspection.feed_visible,
        scope_fields=("jurisdiction_id", "inspector_id"),
    ),
)

BY_NAME = {c.name: c for c in REGISTRY}
BY_COLLECTION = {c.collection: c for c in REGISTRY}
