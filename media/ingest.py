"""A finished upload becomes photo evidence: verified, checked, described, derived, stored, linked.

Order matters, because there are no transactions and nothing may be half-stored:
1. hash every received byte and compare with the declared SHA-256 (also proof that the client
   has the content: a hash alone never links an existing photo);
2. same content already a photo → only link it again;
3. otherwise check and decode (`media.images`), read the camera facts (`media.exif`), make
   the thumbnail and the watermarked review copy — all before anything is stored, so a
   refused file leaves nothing behind but is deleted with its upload;
4. store the derived copies, then let the blob store adopt the received chunks as the
   original (written once, never copied), then insert the photo record, then record its
   audit event (`photo.arrive`), then mark the upload complete; the same update witnesses the
   outbox entry that runs the arrival hooks (`media.links.ARRIVAL_JOB`), so they run, and are
   retried, even if this process dies.
Every step is idempotent, so an ingest interrupted by a crash is simply run again
(`resume_stalled_ingests`, from the worker's `resume_ingests` job every minute), as soon as
the process or request that held it is gone (`media.holder`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mongoengine import NotUniqueError

from media import exif, holder, images, watermark
from media.blobstore import CHUNK_SIZE, BlobStore, blob_parts
from media.errors import Sha256Mismatch
from media.links import ARRIVAL_JOB, LinkRef, arrival_args, check_link_target, registry
from server.actor import REGULATOR_ROLES, Actor, Role
from server.config import Settings
from server.errors import DomainError
from server.models.enterprise import Enterprise
from server.models.photo import Gps, Photo, PhotoLink, link_key
from server.models.upload import COMPLETE, INGESTING, Upload
from server.models.user import User
from server.services import outbox
from server.services.audit import record

log = logging.getLogger(__name__)

#: An ingest that names no holder (`media.holder`), claimed longer ago than this, is
#: presumed dead (its process crashed).
INGEST_LEASE = timedelta(minutes=5)
#: Received bytes kept in memory while hashing, checking and decoding one photo; larger
#: photos are read from MongoDB again instead (memory stays bounded whatever the size).
READ_CACHE_BYTES = 8 * CHUNK_SIZE
THUMBNAIL_QUALITY, REVIEW_QUALITY = 80, 85
#: How long the last PATCH waits for room in the decode budget before answering 503, and
#: the Retry-After it then sends (tus clients retry a 503 after a delay).
DECODE_WAIT_SECONDS, DECODE_RETRY_AFTER = 20, 5


@dataclass
class Received:
    """What the request that received the last bytes still holds: chunks it wrote (by
    `(prefix, n)`) and, when it received the whole file, its SHA-256."""

    chunks: dict = field(default_factory=dict)
    sha256: str | None = None


@dataclass
class Prepared:
    """Everything an ingest computes before it writes anything: the link to add and, for new
    content, the unsaved photo record with its derived JPEGs."""

    link: PhotoLink
    photo: Photo | None = None  # None: the content is a photo already; only link it
    thumbnail: bytes = b""
    review: bytes = b""


@contextmanager
def decode_slot(
    parts: list[dict], *, store: BlobStore, warm: dict, settings: Settings
) -> Iterator[None]:
    """Hold the pixels the photo in `parts` will decode to in the process's decode budget
    while the caller ingests it (DecoderBusy when the budget stays full).

    The budget is one image of MAX_IMAGE_PIXELS: what a process must have room for anyway,
    so concurrent uploads cost no more memory than the largest photo allowed (several
    12-MP photos decode side by side; a 49-MP PNG decodes alone). It bounds the request
    threads of one process; each gunicorn worker process has its own."""
    reader = store.open_parts(parts, cache_bytes=2 * CHUNK_SIZE, warm=warm)
    pixels = images.declared_pixels(reader)
    if pixels > settings.max_image_pixels:
        pixels = 0  # refused from its header, before any decoding
    budget = images.pixel_budget(settings.max_image_pixels)
    with budget.reserve(pixels, timeout=DECODE_WAIT_SECONDS, retry_after=DECODE_RETRY_AFTER):
        yield


def finish_upload(
    upload: Upload,
    *,
    actor: Actor,
    now: datetime,
    settings: Settings,
    store: BlobStore,
    received: Received | None = None,
    prepared: Prepared | DomainError | None = None,
) -> Photo:
    """Turn a fully received upload (state `ingesting`) into a linked photo. `prepared` is
    the outcome of `prepare` when the caller ran it already (while its writes completed)."""
    try:
        if prepared is None:
            prepared = prepare(
                upload,
                [dict(s) for s in upload.segments],
                actor=actor,
                now=now,
                settings=settings,
                store=store,
                received=received or Received(),
            )
        elif isinstance(prepared, DomainError):
            raise prepared
        return _store(upload, prepared, actor=actor, now=now, store=store)
    except DomainError:
        # Refused for good (wrong hash, not an image, link no longer visible): the upload and
        # its bytes go, so nothing is half-stored; the client learns why from the answer.
        if Upload._get_collection().delete_one({"_id": upload.id}).deleted_count:
            _discard_unless_adopted(store, upload.sha256, upload.staged_parts())
        raise


def prepare(
    upload: Upload,
    parts: list[dict],
    *,
    actor: Actor,
    now: datetime,
    settings: Settings,
    store: BlobStore,
    received: Received,
) -> Prepared:
    """Steps 1-3 of the module docstring over the received `parts`: reads, never writes."""
    target = check_link_target(actor, upload.link_kind, upload.link_id, upload.sha256)
    reader = store.open_parts(parts, cache_bytes=READ_CACHE_BYTES, warm=received.chunks)
    actual = received.sha256
    if actual is None:
        digest = hashlib.sha256()
        while piece := reader.read(CHUNK_SIZE):
            digest.update(piece)
        actual = digest.hexdigest()
    if actual != upload.sha256:
        raise Sha256Mismatch(
            f"the file hashes to {actual}, not the declared sha256 {upload.sha256}",
            reasons=[{"rule": "sha256_matches", "declared": upload.sha256}],
        )
    link = _link(upload, now)
    if Photo.objects(id=upload.sha256).only("id").first() is not None:
        return Prepared(link=link)
    return _new_photo(upload, reader, target, link, now=now, settings=settings)


def _store(
    upload: Upload, prepared: Prepared, *, actor: Actor, now: datetime, store: BlobStore
) -> Photo:
    """Step 4: derived copies, the original (adopted), the record, the upload, the hooks."""
    parts = [dict(s) for s in upload.segments]
    photo, link = prepared.photo, prepared.link
    if photo is None:
        add_link(upload.sha256, link)
        _discard_unless_adopted(store, upload.sha256, parts)
        photo = Photo.objects(id=upload.sha256).first()
    else:
        # Three independent writes, side by side; the record comes only after all of them.
        with ThreadPoolExecutor(2, thread_name_prefix="derived") as pool:
            copies = [
                pool.submit(store.put, data, now=now, content_type="image/jpeg")
                for data in (prepared.thumbnail, prepared.review)
            ]
            _, adopted = store.adopt(
                upload.sha256,
                parts,
                verified_sha256=upload.sha256,
                now=now,
                content_type=photo.content_type,
            )
            photo.thumbnail, photo.review = (copy.result()["_id"] for copy in copies)
        if not adopted:
            _discard_unless_adopted(store, upload.sha256, parts)
        try:
            photo.save(force_insert=True)
        except NotUniqueError:  # the same content finished by another upload meanwhile
            add_link(upload.sha256, link)
    _audit_arrival(upload, photo.id, actor=actor, now=now)
    _complete(upload, link, now=now)
    return photo


def _new_photo(upload, reader, target, link, *, now, settings) -> Prepared:
    checked = images.check(
        reader, reader.size, max_pixels=settings.max_image_pixels, draft_px=settings.review_px
    )
    facts = exif.read_facts(checked.image)
    skew = (upload.device_time - upload.created_at).total_seconds() if upload.device_time else None
    tolerance = settings.clock_skew_seconds
    clock_skewed = skew is not None and abs(skew) > tolerance
    window, captured = timedelta(seconds=tolerance), facts.captured_at
    # Taken after receipt, or well before the work it documents began (an old photo reused).
    earliest = target.started_at - window if target.started_at else None
    skew_flag = clock_skewed or bool(
        captured and (captured > now + window or (earliest is not None and captured < earliest))
    )
    uploader = User.objects(id=upload.uploader_id).only("display_name", "role").first()
    enterprise_id = target.enterprise_id or _uploader_enterprise(upload.uploader_id)
    enterprise = (
        Enterprise.objects(id=enterprise_id).only("name").first() if enterprise_id else None
    )
    review, thumb = images.review_and_thumbnail(
        checked.image,
        facts.orientation,
        review_px=settings.review_px,
        thumbnail_px=settings.thumbnail_px,
    )
    checked.image = None  # free the decoded pixels before encoding (bounded memory)
    regulator = uploader is not None and Role(uploader.role) in REGULATOR_ROLES
    stamp = watermark.StampFacts(
        captured_local=facts.captured_local,
        captured_offset=facts.captured_offset,
        gps=facts.gps,
        enterprise=enterprise.name if enterprise else None,
        person_label="检查人员" if regulator else "上传人员",
        person=uploader.display_name if uploader else None,
        received_at=now,
        skew_seconds=skew,
        skew_flag=skew_flag,
        clock_skewed=clock_skewed,
    )
    watermark.stamp(
        review,
        watermark.lines(stamp),
        font_path=settings.watermark_font,
        font_index=settings.watermark_font_index,
    )
    gps = facts.gps
    photo = Photo(
        id=upload.sha256,
        format=checked.format,
        content_type=images.CONTENT_TYPES[checked.format],
        size=reader.size,
        width=checked.width,
        height=checked.height,
        orientation=facts.orientation,
        filename=upload.filename,
        captured_local=facts.captured_local,
        captured_offset=facts.captured_offset,
        captured_at=facts.captured_at,
        gps=Gps(latitude=gps.latitude, longitude=gps.longitude, altitude=gps.altitude)
        if gps
        else None,
        make=facts.make,
        model=facts.model,
        exif=facts.clean,
        uploader_id=upload.uploader_id,
        enterprise_id=enterprise_id,
        received_at=now,
        device_time=upload.device_time,
        clock_skew_seconds=skew,
        skew_flag=skew_flag,
        links=[link],
        link_keys=[link.key],
    )
    return Prepared(
        link=link,
        photo=photo,
        thumbnail=images.jpeg_bytes(thumb, THUMBNAIL_QUALITY),
        review=images.jpeg_bytes(review, REVIEW_QUALITY),
    )


def _link(upload: Upload, now: datetime) -> PhotoLink:
    return PhotoLink(
        key=link_key(upload.link_kind, upload.link_id, upload.item_code),
        kind=upload.link_kind,
        id=upload.link_id,
        item_code=upload.item_code,
        linked_by=upload.uploader_id,
        linked_at=now,
    )


def add_link(sha256: str, link: PhotoLink) -> bool:
    """Link a photo to an object once: `$addToSet` on the key decides (by `_id` alone), and
    only the request that added the key pushes the link. True when this call linked it."""
    collection = Photo._get_collection()
    added = collection.update_one({"_id": sha256}, {"$addToSet": {"link_keys": link.key}})
    if added.modified_count == 0:
        return False
    collection.update_one({"_id": sha256}, {"$push": {"links": link.to_mongo().to_dict()}})
    return True


def _discard_unless_adopted(store: BlobStore, sha256: str, parts: list[dict]) -> None:
    """Delete our received chunks unless they are the stored blob's own (a re-run after a
    crash that happened after the blob adopted them)."""
    info = store.info(sha256)
    ours = {p["prefix"] for p in parts}
    if info is None or not ours & {p["prefix"] for p in blob_parts(info)}:
        store.discard_staged(parts)


def _audit_arrival(upload: Upload, sha256: str, *, actor: Actor, now: datetime) -> None:
    """`photo.arrive`: these bytes (by SHA-256) arrived from this uploader and device, and the
    photo record now reads as stored (with this upload's link). Recorded before the upload is
    marked complete and keyed by the upload: an ingest re-run after a crash records it again
    and the chain keeps one. `before` is null: a photo changes only by arrivals, so its state
    before is the `after` of its previous `photo.arrive`."""
    stored = Photo._get_collection().find_one({"_id": sha256})
    record.record(
        actor,
        "photo.arrive",
        "photo",
        sha256,
        before=None,
        after=stored,
        now=now,
        device_time=upload.device_time,
        photos=[sha256],
        chain=actor.jurisdiction_id,
        key=f"photo.arrive:{upload.id}",
    )


def _uploader_enterprise(user_id):
    user = User.objects(id=user_id).only("enterprise_id").first()
    return user.enterprise_id if user else None


def _complete(upload: Upload, link: PhotoLink, *, now: datetime) -> None:
    """Mark the upload complete; the same update witnesses the entry that runs the arrival
    hooks of its link (staged first, confirmed after: server.services.outbox)."""
    collection = Upload._get_collection()
    entry_id = outbox.new_id()
    ref = LinkRef(link.kind, link.id, link.item_code)
    job = outbox.Job(ARRIVAL_JOB, arrival_args(upload.sha256, ref))
    outbox.stage(
        [job],
        witnesses=[outbox.Witness(collection.name, upload.id, "outbox", entry_id)],
        now=now,
        ids=[entry_id],
    )
    collection.update_one(
        {"_id": upload.id},
        {
            # Open attempts stay listed: a live one pulls its own record, and the chunks of a
            # dead one are found by the maintenance job through it (`tus.discard_dead_attempts`).
            "$set": {"state": COMPLETE, "photo_id": upload.sha256, "segments": []},
            "$push": outbox.witness_token(entry_id),
        },
    )
    outbox.confirm([entry_id], now=now)


def resume_stalled_ingests(now: datetime, *, settings: Settings, store: BlobStore) -> int:
    """Run again the ingests whose request or process is gone: at once when the holder it
    names is gone (`media.holder`), after INGEST_LEASE for one that names none."""
    resumed = 0
    collection = Upload._get_collection()
    me = holder.current(collection.database)
    stalled = list(Upload.objects(state=INGESTING).batch_size(50))
    found = holder.holders(
        collection.database, ((u.ingest_holder or {}).get("id") for u in stalled)
    )
    for upload in stalled:
        if not _ingest_gone(upload, found, now):
            continue
        if not registry.registered(upload.link_kind):
            # This process lacks the owner's resolver (wiring): leave it for one that has it
            # rather than refuse, and so delete, a photo that was received in full.
            log.warning("stalled upload skipped", extra={"upload": upload.id})
            continue
        with me.hold(upload.id) as since:
            claimed = collection.update_one(
                {
                    "_id": upload.id,
                    "state": INGESTING,
                    "ingest_claimed_at": upload.ingest_claimed_at,
                },
                {
                    "$set": {
                        "ingest_claimed_at": now,
                        "ingest_holder": {"id": me.id, "since": since},
                    }
                },
            )
            uploader = User.objects(id=upload.uploader_id).first()
            if claimed.modified_count == 0 or uploader is None:
                continue
            try:
                finish_upload(
                    upload, actor=uploader.actor(), now=now, settings=settings, store=store
                )
                resumed += 1
            except DomainError as exc:
                log.warning(
                    "stalled upload refused", extra={"upload": upload.id, "error": exc.detail}
                )
    return resumed


def _ingest_gone(upload: Upload, found: dict, now: datetime) -> bool:
    held = upload.ingest_holder or {}
    if not held.get("id"):  # claimed before ingests named their holder
        return upload.ingest_claimed_at < now - INGEST_LEASE
    return holder.gone(found, held["id"], upload.id, held["since"], now=now)
