"""Publishing the label keys of the settings to the synced `label_keys` collection
(server.models.label_key), so that phones verify QR labels offline with keys from the feed.

`publish` is idempotent: a key the settings name is written once and changed only when its
role changes (it starts or stops signing, or comes back after being retired); a key they no
longer name is marked retired. Nothing is written when nothing changed, so running it at every
worker start and periodically costs the feed nothing. Each change is audited
(`label_key.publish`, `label_key.retire`).
"""

from __future__ import annotations

import logging
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from server.models.label_key import LabelKeyRecord
from server.models.synced import mark_dirty
from server.services.audit import record as audit
from server.services.spaces import labels

log = logging.getLogger(__name__)

_COLLECTION = LabelKeyRecord._get_collection_name()


def publish(keys: tuple[labels.LabelKey, ...], *, now: datetime) -> dict:
    """Write the keys (the signing one first, as the settings give them); retire the others.
    How many were published or changed, and retired."""
    collection = LabelKeyRecord._get_collection()
    wanted = {k["key_id"]: k for k in labels.public_keys(keys)}
    stored = {d["_id"]: d for d in collection.find({})}
    changed = retired = 0
    for key_id, key in wanted.items():
        fields = {
            "algorithm": key["algorithm"],
            "public_key": key["public_key"],
            "signs": key["signs"],
            "retired_at": None,
        }
        current = stored.get(key_id)
        if current is None:
            try:
                collection.insert_one(
                    {
                        "_id": key_id,
                        **fields,
                        "published_at": now,
                        "updated_at": now,
                        "sync_seq": None,
                        "sync_rev": 1,
                    }
                )
            except DuplicateKeyError:
                continue  # another process published it at the same moment
        elif all(current.get(k) == v for k, v in fields.items()):
            continue
        else:
            _update(key_id, current, {**fields, "updated_at": now})
        changed += 1
        _audit("label_key.publish", key_id, current, fields, now)
    for key_id, current in stored.items():
        if key_id not in wanted and current.get("retired_at") is None:
            fields = {"signs": False, "retired_at": now}
            if _update(key_id, current, {**fields, "updated_at": now}):
                retired += 1
                _audit("label_key.retire", key_id, current, fields, now)
    if changed or retired:
        mark_dirty(_COLLECTION)
        log.info("label keys published", extra={"changed": changed, "retired": retired})
    return {"published": changed, "retired": retired}


def _update(key_id: str, current: dict, fields: dict) -> bool:
    """Compare-and-set on (_id, sync_rev): a concurrent publisher's change is not overwritten."""
    result = LabelKeyRecord._get_collection().update_one(
        {"_id": key_id, "sync_rev": current.get("sync_rev", 0)},
        {"$set": {**fields, "sync_seq": None}, "$inc": {"sync_rev": 1}},
    )
    return bool(result.matched_count)


def _audit(action: str, key_id: str, before: dict | None, fields: dict, now: datetime) -> None:
    after = {**(before or {}), "_id": key_id, **fields}
    audit.record(
        None,
        action,
        "label_key",
        key_id,
        before=before,
        after=after,
        now=now,
        key=f"{action}:{key_id}:{after.get('signs')}:{after.get('retired_at')}",
    )
