"""Notifications to users, delivered through the change feed (server.models.notification).

`notify(key, recipients, ...)` writes one notification per recipient under an id derived from
`key` (what caused it, e.g. the timer that fired) and the recipient: insert-if-absent, so a job
that runs again after a crash tells nobody twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.models.notification import Notification
from server.models.synced import mark_dirty

COLLECTION = Notification._get_collection_name()


def notification_id(key: str, recipient_id: ObjectId) -> str:
    """The id of what `key` tells `recipient_id`: the same for every run of the same cause."""
    return hashlib.sha256(f"{key}|{recipient_id}".encode()).hexdigest()[:32]


def notify(
    key: str,
    recipients: Iterable[ObjectId],
    *,
    kind: str,
    subject: tuple[str, str],
    text_zh: str,
    text_en: str,
    now: datetime,
    due_at: datetime | None = None,
) -> int:
    """Tell each recipient once about `subject` (collection, id); returns how many were new."""
    collection = Notification._get_collection()
    written = 0
    for recipient in dict.fromkeys(recipients):  # once each, in order
        doc = {
            "_id": notification_id(key, recipient),
            "recipient_id": recipient,
            "kind": kind,
            "subject_collection": subject[0],
            "subject_id": subject[1],
            "text_zh": text_zh,
            "text_en": text_en,
            "due_at": due_at,
            "version": 1,
            "mutation_ids": [],
            "created_at": now,
            "sync_seq": None,
            "sync_rev": 1,
        }
        try:
            collection.insert_one(doc)
            written += 1
        except DuplicateKeyError:
            pass  # told already (a job run again)
    if written:
        mark_dirty(COLLECTION)
    return written


def of(recipient_id: ObjectId) -> list[dict]:
    """A user's notifications, oldest first (raw)."""
    return list(
        Notification._get_collection().find({"recipient_id": recipient_id}).sort("created_at", 1)
    )
