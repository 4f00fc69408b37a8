"""A finished upload becomes photo evidence: verified, checked, described, derived, stored, linked.

What is stored once per content and what once per upload context: server.models.photo. The
bytes, their thumbnail and the `Photo` record are shared by every upload of the same content;
the context — this uploader's evidence for this object, with the camera facts, the device
clock, the filename and a review copy watermarked for it — is made by the first upload of it
and only linked again by later ones (another item code of the same object).

Order matters, because there are no transactions and nothing may be half-stored:
1. hash every received byte and compare with the declared SHA-256 (also proof that the client
   has the content: a hash alone never links an existing photo);
2. this upload's context exists already → only link it again;
3. otherwise check and decode (`media.images`), read the camera facts (`media.exif`), make the
   watermarked review copy and, for content not stored yet, the thumbnail — all before
   anything is stored, so a refused file leaves nothing behind but is deleted with its upload;
4. store the derived copies and let the blob store adopt the received chunks as the original
   (written once, never copied; content stored already keeps its own) — one batch, two
   writes — write or extend the photo record announcing the context, then insert the
   context, then mark the upload complete; the same update witnesses the outbox entries
   that run the arrival hooks (`media.links.ARRIVAL_JOB`) and append the audit event
   (`photo.arrive`), staged together before it, so they run, and are retried, even if this
   process dies.
Every step is idempotent, so an ingest interrupted by a crash is simply run again
(`resume_stalled_ingests`, from the worker's `resume_ingests` job every minute), as soon as
the process or request that held it is gone (`media.holder`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mongoengine import NotUniqueError
from pymongo.errors import DuplicateKeyError

from media import exif, holder, images, watermark
from media.blobstore import CHUNK_SIZE, BlobStore, blob_parts
from media.errors import Sha256Mismatch
from media.links import (
    ARRIVAL_JOB,
    LinkRef,
    LinkTarget,
    arrival_args,
    check_link_target,
    registry,
)
from server.actor import REGULATOR_ROLES, Actor, Role
from server.config import Settings
from server.errors import DomainError, NotFound
from server.models.enterprise import Enterprise
from server.models.photo import Gps, Photo, PhotoContext, PhotoLink, context_key, link_key
from server.models.upload import COMPLETE, INGESTING, Upload
from server.models.user import User
from server.services import outbox
from server.services.audit import record
from server.services.audit.event import event

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
    """Everything an ingest computes before it writes anything: the link to add to this
    upload's context and, when the context is new, its unsaved record with the review copy,
    and for new content the unsaved photo record with its thumbnail."""

    link: PhotoLink
    context_id: str
    context: PhotoContext | None = None  # None: the context exists already; only link it
    photo: Photo | None = None  # None: the content is stored already
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
) -> PhotoContext:
    """Turn a fully received upload (state `ingesting`) into linked photo evidence (the
    upload's context). `prepared` is
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
    target: LinkTarget | None = None,
    pool: Executor | None = None,
) -> Prepared:
    """Steps 1-3 of the module docstring over the received `parts`: reads, never writes.
    `target`: the link target when the caller checked it already. With `pool`, its thread
    reads the records while this one decodes."""
    target = target or link_target(actor, upload)
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
    context_id = context_key(upload.sha256, upload.uploader_id, upload.link_kind, upload.link_id)
    # With a pool the reads travel while this thread decodes, though the decode (and the
    # read of the people) is wasted when this upload's context exists already (a photo sent
    # again for the same item); without one, neither is done before that is known.
    stored = pool.submit(_stored, upload.sha256, context_id) if pool else None
    people = pool.submit(_people, upload, target, actor) if pool else None
    checked = _decode(reader, settings) if pool else None
    photo_stored, context_stored = stored.result() if stored else _stored(upload.sha256, context_id)
    if context_stored:
        return Prepared(link=link, context_id=context_id)
    return derive_context(
        upload,
        reader,
        target,
        link,
        context_id,
        actor=actor,
        new_content=not photo_stored,
        now=now,
        settings=settings,
        checked=checked,
        people=people.result() if people else None,
    )


def link_target(actor: Actor, upload: Upload) -> LinkTarget:
    """The object the upload's photo is to be linked to, as `actor` may see it, taking this
    content (`media.links.check_link_target`: NotFound, or a RuleViolation when closed)."""
    return check_link_target(actor, upload.link_kind, upload.link_id, upload.sha256)


def _stored(sha256: str, context_id: str) -> tuple[bool, bool]:
    """Whether the content is stored, and whether this upload's context is."""
    # A context is written after its photo record: new content has none to look for.
    if Photo.objects(id=sha256).only("id").first() is None:
        return False, False
    return True, PhotoContext.objects(id=context_id).only("id").first() is not None


@dataclass(frozen=True)
class People:
    """Who the evidence is of and by, as its record and watermark name them: the uploader
    (None when no user record names them any more), the tenant it is filed under (the
    uploader's own, whoever continues the upload: an admin may), and the enterprise."""

    uploader: User | None
    tenant: Actor
    enterprise_id: object
    enterprise: Enterprise | None


def _people(upload: Upload, target: LinkTarget, actor: Actor) -> People:
    uploader = (
        User.objects(id=upload.uploader_id)
        .only("display_name", "role", "jurisdiction_id", "enterprise_id")
        .first()
    )
    tenant = uploader.actor() if uploader else actor
    enterprise_id = target.enterprise_id or tenant.enterprise_id
    enterprise = (
        Enterprise.objects(id=enterprise_id).only("name").first() if enterprise_id else None
    )
    return People(uploader, tenant, enterprise_id, enterprise)


def _decode(reader, settings: Settings) -> images.Checked:
    return images.check(
        reader, reader.size, max_pixels=settings.max_image_pixels, draft_px=settings.review_px
    )


def _store(
    upload: Upload, prepared: Prepared, *, actor: Actor, now: datetime, store: BlobStore
) -> PhotoContext:
    """Step 4: derived copies, the original (adopted), the records, the upload, the hooks."""
    parts = [dict(s) for s in upload.segments]
    photo, context, link = prepared.photo, prepared.context, prepared.link
    stored = None
    if context is None:
        add_link(prepared.context_id, link)
        _discard_unless_adopted(store, upload.sha256, parts)
    else:
        # The derived copies and, for new content, the adopted original: one batch (two
        # writes); the records come only after it.
        batch = store.batch(now=now)
        context.review = batch.put(prepared.review, content_type="image/jpeg")
        if photo is not None:
            photo.thumbnail = batch.put(prepared.thumbnail, content_type="image/jpeg")
            batch.adopt(
                upload.sha256, parts, verified_sha256=upload.sha256, content_type=photo.content_type
            )
        adopted = upload.sha256 in batch.commit()
        if photo is None or not adopted:
            _discard_unless_adopted(store, upload.sha256, parts)
        # Announced before it is written: a crash in between leaves an id naming nothing,
        # and the re-run writes the context.
        if photo is None:
            _announce(upload.sha256, context.id)
        else:
            try:
                photo.save(force_insert=True)
            except NotUniqueError:  # the same content finished by another upload meanwhile
                _announce(upload.sha256, context.id)
        try:
            context.save(force_insert=True)
            stored = context.to_mongo().to_dict()  # as written: no need to read it back
        except NotUniqueError:  # the same context finished by another upload meanwhile
            add_link(context.id, link)
    arrival = _arrival_event(upload, prepared.context_id, stored, actor=actor, now=now)
    _complete(upload, link, arrival, now=now)
    return context or PhotoContext.objects(id=prepared.context_id).first()


def _announce(sha256: str, context_id: str) -> None:
    Photo._get_collection().update_one({"_id": sha256}, {"$addToSet": {"contexts": context_id}})


def derive_context(
    upload,
    reader,
    target,
    link,
    context_id,
    *,
    actor,
    new_content,
    now,
    settings,
    checked: images.Checked | None = None,
    people: People | None = None,
) -> Prepared:
    """The unsaved context of `upload` with its watermarked review copy, and for new content
    the photo record and thumbnail: one decode either way (`checked`, when the caller decoded
    already; `people`, when it read them). `actor` stands for the uploader when no user
    record names them any more."""
    checked = checked or _decode(reader, settings)
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
    people = people or _people(upload, target, actor)
    uploader, tenant, enterprise = people.uploader, people.tenant, people.enterprise
    enterprise_id = people.enterprise_id
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
    printed = watermark.lines(stamp)
    watermark.stamp(
        review,
        printed,
        font_path=settings.watermark_font,
        font_index=settings.watermark_font_index,
    )
    gps = facts.gps
    context = PhotoContext(
        id=context_id,
        photo=upload.sha256,
        uploader_id=upload.uploader_id,
        uploader_role=tenant.role.value,
        jurisdiction_id=tenant.jurisdiction_id,
        uploader_enterprise_id=tenant.enterprise_id,
        target_kind=upload.link_kind,
        target_id=upload.link_id,
        pending=target.pending,
        enterprise_id=enterprise_id,
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
        received_at=now,
        device_time=upload.device_time,
        capture=getattr(upload, "capture", None),
        clock_skew_seconds=skew,
        skew_flag=skew_flag,
        watermark=printed,
        links=[link],
        link_keys=[link.key],
    )
    photo = None
    if new_content:
        photo = Photo(
            id=upload.sha256,
            format=checked.format,
            content_type=images.CONTENT_TYPES[checked.format],
            size=reader.size,
            width=checked.width,
            height=checked.height,
            orientation=facts.orientation,
            contexts=[context_id],
        )
    return Prepared(
        link=link,
        context_id=context_id,
        context=context,
        photo=photo,
        thumbnail=images.jpeg_bytes(thumb, THUMBNAIL_QUALITY) if new_content else b"",
        review=images.jpeg_bytes(review, REVIEW_QUALITY),
    )


def link_copy(context_id: str, kind: str, link_id: str, *, actor: Actor, now: datetime) -> str:
    """The evidence of one upload context linked to another object, as a context of its own:
    the same uploader, camera facts and review copy, linked by `actor` (who must see the
    object). For an object that adopts another's evidence — a verified public report's photos
    become its hazard's. Idempotent; returns the new context's id."""
    source = PhotoContext._get_collection().find_one({"_id": context_id})
    if source is None:
        raise NotFound(f"photo context {context_id} not found")
    target = check_link_target(actor, kind, link_id)
    new_id = context_key(source["photo"], source["uploader_id"], kind, link_id)
    link = PhotoLink(
        key=link_key(kind, link_id, None),
        kind=kind,
        id=link_id,
        linked_by=actor.user_id,
        linked_at=now,
    )
    copy = {
        **source,
        "_id": new_id,
        "target_kind": kind,
        "target_id": link_id,
        "pending": False,
        "enterprise_id": target.enterprise_id or source.get("enterprise_id"),
        "links": [link.to_mongo().to_dict()],
        "link_keys": [link.key],
    }
    _announce(source["photo"], new_id)
    try:
        PhotoContext._get_collection().insert_one(copy)
    except DuplicateKeyError:
        pass  # linked by an earlier call
    record.record(
        actor,
        "photo.link",
        "photo_context",
        new_id,
        before=None,
        after=PhotoContext._get_collection().find_one({"_id": new_id}),
        now=now,
        photos=[source["photo"]],
        chain=actor.jurisdiction_id,
        key=f"photo.link:{new_id}",
    )
    return new_id


def _link(upload: Upload, now: datetime) -> PhotoLink:
    return PhotoLink(
        key=link_key(upload.link_kind, upload.link_id, upload.item_code),
        kind=upload.link_kind,
        id=upload.link_id,
        item_code=upload.item_code,
        linked_by=upload.uploader_id,
        linked_at=now,
    )


def add_link(context_id: str, link: PhotoLink) -> bool:
    """Link a context to an object's item once: `$addToSet` on the key decides (by `_id`
    alone), and only the request that added the key pushes the link. True when this call
    linked it."""
    collection = PhotoContext._get_collection()
    added = collection.update_one({"_id": context_id}, {"$addToSet": {"link_keys": link.key}})
    if added.modified_count == 0:
        return False
    collection.update_one({"_id": context_id}, {"$push": {"links": link.to_mongo().to_dict()}})
    return True


def _discard_unless_adopted(store: BlobStore, sha256: str, parts: list[dict]) -> None:
    """Delete our received chunks unless they are the stored blob's own (a re-run after a
    crash that happened after the blob adopted them)."""
    info = store.info(sha256)
    ours = {p["prefix"] for p in parts}
    if info is None or not ours & {p["prefix"] for p in blob_parts(info)}:
        store.discard_staged(parts)


def _arrival_event(
    upload: Upload, context_id: str, stored: dict | None, *, actor: Actor, now: datetime
) -> dict:
    """`photo.arrive`: these bytes (by SHA-256) arrived from this uploader and device, and
    their upload context now reads as stored (with this upload's link). Appended once the
    upload is complete (`_complete`) and keyed by the upload: an ingest re-run after a crash
    stages it again and the chain keeps one. `before` is null: a context changes only by
    arrivals, so its state before is the `after` of its previous `photo.arrive`. The
    context, not the shared photo record, is what is digested: another tenant's upload of
    the same bytes changes nothing in this tenant's chain. `stored`: the context as this
    ingest wrote it (digests see times at MongoDB's millisecond precision), else it is read."""
    if stored is None:
        stored = PhotoContext._get_collection().find_one({"_id": context_id})
    return event(
        actor,
        "photo.arrive",
        "photo_context",
        context_id,
        before=None,
        after=stored,
        now=now,
        device_time=upload.device_time,
        photos=[upload.sha256],
        chain=actor.jurisdiction_id,
        key=f"photo.arrive:{upload.id}",
    )


def _complete(upload: Upload, link: PhotoLink, arrival: dict, *, now: datetime) -> None:
    """Mark the upload complete; the same update witnesses the entries that run the arrival
    hooks of its link and append the `arrival` audit event (staged together in one write
    first, confirmed after: server.services.outbox)."""
    collection = Upload._get_collection()
    entry_id = outbox.new_id()
    ref = LinkRef(link.kind, link.id, link.item_code)
    hooks = outbox.Job(ARRIVAL_JOB, arrival_args(upload.sha256, ref))
    audit = [job for job, _ in record.jobs([arrival])]
    ids = outbox.stage(
        [hooks, *audit],
        witnesses=[outbox.Witness(collection.name, upload.id, "outbox", entry_id)],
        now=now,
        ids=[entry_id, *(outbox.new_id() for _ in audit)],
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
    outbox.confirm(ids, now=now)


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
