"""Change tracking for collections that phones sync: the hook the change feed stands on.

Every write to a synced document, whichever code path makes it, does two things in the same
single-document update: it sets `sync_seq` to null ("changed since last sequenced") and
increments `sync_rev`. After the write, the collection is marked dirty in `sync_dirty`. The
sequencer (sync.sequencer) later gives every null-`sync_seq` document a feed sequence number.

This base class and queryset make those two fields impossible to forget: `save()` and the
queryset's `update*()` add them. Raw pymongo writes to a synced collection must use
`changed_fields()` (inserts: `new_fields()`) and `mark_dirty()` themselves (the sync push
does, for speed).
"""

from __future__ import annotations

from mongoengine import DictField, Document, IntField, ListField
from mongoengine.connection import get_db

from server.models.audience import ScopedQuerySet

#: Collection that holds one "dirty" marker per synced collection with unsequenced changes.
DIRTY = "sync_dirty"
#: Ids made offline by phones (documents they create, mutations they send): lower-case UUIDs.
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def changed_fields() -> dict:
    """The `$set`/`$inc` parts every raw write to a synced document must include."""
    return {"$set": {"sync_seq": None}, "$inc": {"sync_rev": 1}}


def new_fields() -> dict:
    """The fields every raw insert of a synced document must include: not sequenced yet, at
    its first revision, no audience published."""
    return {"sync_seq": None, "sync_rev": 1, "sync_audiences": []}


def mark_dirty(collection: str) -> None:
    """Tell the sequencer that `collection` has documents to sequence (after the write)."""
    get_db()[DIRTY].update_one({"_id": collection}, {"$inc": {"n": 1}}, upsert=True)


class SyncedQuerySet(ScopedQuerySet):
    """A scoped queryset whose updates always flag the documents for the change feed."""

    def update(self, *args, **kwargs):
        kwargs.setdefault("set__sync_seq", None)
        kwargs["inc__sync_rev"] = 1
        result = super().update(*args, **kwargs)
        mark_dirty(self._document._get_collection_name())
        return result

    def delete(self, *args, **kwargs):
        raise TypeError(
            f"{self._document.__name__} is synced to phones: mark it deleted, never remove it"
        )


class SyncedDocument(Document):
    """Base of every document the phones sync; see the module docstring."""

    #: Feed sequence number of the last sequenced state; null while a change awaits one.
    sync_seq = IntField(null=True)
    #: Incremented by every write: tells the sequencer whether it saw the latest state.
    sync_rev = IntField(required=True, default=0)
    #: Every audience the feed has published for this document that a later entry has not
    #: yet told about a change: the readers a tombstone is owed to when the audience changes.
    #: The sequencer records an audience here *before* publishing it (sync.sequencer).
    sync_audiences = ListField(DictField())
    #: Written by earlier versions of the sequencer (the last confirmed audience); still read.
    sync_scope = DictField(null=True)

    meta = {"abstract": True, "queryset_class": SyncedQuerySet}

    def save(self, *args, **kwargs):
        self.sync_seq = None
        self.sync_rev = (self.sync_rev or 0) + 1
        result = super().save(*args, **kwargs)
        mark_dirty(self._get_collection_name())
        return result

    def delete(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} is synced to phones: mark it deleted instead")
