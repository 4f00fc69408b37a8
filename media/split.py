"""Converting photo records of the one-record-per-hash layout into upload contexts (`init-db`).

Before upload contexts (server.models.photo), a `photos` document held everything of a
content: the first uploader, their filename, times and review copy, and every link anyone
added by uploading the same bytes. `split_legacy_photos` turns each such document into the
content record plus one context per uploader and linked object, in the order the links were
made:
- the first uploader's first object keeps what the record said of its upload (filename,
  times, skew, enterprise) and its review copy, which was stamped for it;
- every other context is replayed as the upload that made its first link (`ingest`'s own
  derivation): a review copy stamped for that object's enterprise and that uploader, received
  when the link was made; what the old record never kept of that upload (filename, device
  clock) stays unknown;
- a context whose uploader cannot see its object today (a link made ahead of an object that
  turned out to be another tenant's, or a user since removed) is marked `pending`: it shows
  through the object only if its uploader may see it (`media.links.can_see`).
Idempotent and safe to interrupt: contexts are announced, then inserted if absent (a context
already there is not derived again), then the old fields are removed; a document without
them is done. Until a document is converted, it shows nobody anything (no contexts).
"""

from __future__ import annotations

import logging
from datetime import datetime

from mongoengine import NotUniqueError
from pymongo.database import Database

from media import ingest
from media.blobstore import BlobStore, blob_parts
from media.links import LinkTarget, visible_target
from server.actor import Actor, Role
from server.config import Settings
from server.models.photo import Gps, Photo, PhotoContext, PhotoLink, context_key
from server.models.upload import Upload
from server.models.user import User

log = logging.getLogger(__name__)

#: What the one-record-per-hash layout kept on `photos` that now belongs to a context.
LEGACY_FIELDS = (
    "filename",
    "captured_local",
    "captured_offset",
    "captured_at",
    "gps",
    "make",
    "model",
    "exif",
    "uploader_id",
    "enterprise_id",
    "received_at",
    "device_time",
    "clock_skew_seconds",
    "skew_flag",
    "review",
    "links",
    "link_keys",
)


def split_legacy_photos(db: Database, *, settings: Settings, store: BlobStore) -> int:
    """Convert every photo record of the old layout; returns how many were converted."""
    collection = db[Photo._get_collection_name()]
    done = 0
    # A scan (the old layout has no marker an index could find); paged, run once per start.
    for raw in collection.find({"uploader_id": {"$exists": True}}).batch_size(50):
        _split(db, raw, settings=settings, store=store)
        done += 1
    if done:
        log.info("photo records split into upload contexts", extra={"photos": done})
    return done


def _split(db: Database, raw: dict, *, settings: Settings, store: BlobStore) -> None:
    sha256 = raw["_id"]
    groups: dict[str, list[dict]] = {}
    for link in raw.get("links") or ():
        key = context_key(sha256, link["linked_by"], link["kind"], link["id"])
        groups.setdefault(key, []).append(link)
    photos = db[Photo._get_collection_name()]
    photos.update_one({"_id": sha256}, {"$addToSet": {"contexts": {"$each": list(groups)}}})
    for n, (key, made) in enumerate(groups.items()):
        if PhotoContext.objects(id=key).only("id").first() is not None:
            continue
        first = made[0]
        tenant = _tenant(first["linked_by"])
        target = visible_target(tenant, first["kind"], first["id"]) if tenant else None
        if n == 0 and first["linked_by"] == raw["uploader_id"]:
            context = _as_recorded(raw, key, tenant, first)
        else:
            context = _replayed(raw, key, tenant, first, target, settings=settings, store=store)
        context.pending = target is None
        context.links = [PhotoLink(**link) for link in made]
        context.link_keys = [link["key"] for link in made]
        try:
            context.save(force_insert=True)
        except NotUniqueError:  # converted meanwhile by another run
            pass
    photos.update_one({"_id": sha256}, {"$unset": dict.fromkeys(LEGACY_FIELDS, "")})


def _tenant(user_id) -> Actor | None:
    user = User.objects(id=user_id).only("role", "jurisdiction_id", "enterprise_id").first()
    return user.actor() if user else None


def _base(raw: dict, key: str, tenant: Actor | None, first: dict) -> dict:
    return {
        "id": key,
        "photo": raw["_id"],
        "uploader_id": first["linked_by"],
        "uploader_role": tenant.role.value if tenant else None,
        "jurisdiction_id": tenant.jurisdiction_id if tenant else None,
        "uploader_enterprise_id": tenant.enterprise_id if tenant else None,
        "target_kind": first["kind"],
        "target_id": first["id"],
    }


def _as_recorded(raw: dict, key: str, tenant: Actor | None, first: dict) -> PhotoContext:
    """The first upload's context: what the old record said of it, and its review copy."""
    kept = {
        f: raw.get(f)
        for f in (
            "filename",
            "captured_local",
            "captured_offset",
            "captured_at",
            "make",
            "model",
            "exif",
            "enterprise_id",
            "received_at",
            "device_time",
            "clock_skew_seconds",
            "review",
        )
    }
    gps = Gps(**raw["gps"]) if raw.get("gps") else None
    return PhotoContext(
        **_base(raw, key, tenant, first), gps=gps, skew_flag=bool(raw.get("skew_flag")), **kept
    )


def _replayed(
    raw: dict,
    key: str,
    tenant: Actor | None,
    first: dict,
    target: LinkTarget | None,
    *,
    settings: Settings,
    store: BlobStore,
) -> PhotoContext:
    """A later uploader's context, derived as the upload that made its first link would
    have derived it (the old record kept no more of that upload than the link)."""
    received: datetime = first["linked_at"]
    upload = Upload(
        id=f"split-{key}",
        uploader_id=first["linked_by"],
        length=raw["size"],
        sha256=raw["_id"],
        link_kind=first["kind"],
        link_id=first["id"],
        item_code=first.get("item_code"),
        created_at=received,
        updated_at=received,
        expires_at=received,
    )
    reader = store.open_parts(blob_parts(store.info(raw["_id"])))
    actor = tenant or Actor(user_id=first["linked_by"], role=Role.INSPECTOR)
    prepared = ingest.derive_context(
        upload,
        reader,
        target or LinkTarget(),
        PhotoLink(**first),
        key,
        actor=actor,
        new_content=False,
        now=received,
        settings=settings,
    )
    context = prepared.context
    context.uploader_role = tenant.role.value if tenant else None
    context.review = store.put(prepared.review, now=received, content_type="image/jpeg")["_id"]
    return context
