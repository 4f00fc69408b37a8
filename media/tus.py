"""The tus 1.0 protocol rules for photo uploads (core, creation, creation-with-upload,
checksum, termination, expiration) as plain functions; `server/api/uploads.py` only
translates HTTP to these calls.

Durability and concurrency, with single-document atomicity as the only tool:
- A PATCH first records its attempt on the upload document, conditional on the offset it
  claims (a stale PATCH is refused before reading its body), then streams the body into
  staged chunks of the blob store (`<upload>.<attempt>:<n>`, 1 MiB each, never the whole
  body in memory), then commits with one conditional update: `{_id, offset: o}` → offset
  `o + n`, the new segment appended, the attempt removed. Of two PATCHes racing from the same
  offset exactly one commits; the other deletes its own chunks and answers 409. No PATCH ever
  overwrites another's bytes, so a loser cannot corrupt the winner's data.
- An attempt names the process holding it (`media.holder`): the chunks of one whose
  request or process is gone without committing or cleaning up (MongoDB went away under
  it) are deleted by the maintenance job (`discard_dead_attempts`).
- Every acknowledged byte is in MongoDB before the answer, so another API process (or this
  one after a restart) continues the upload. A client that disconnects mid-PATCH keeps what
  arrived (tus: store as much as possible) unless it sent a checksum, which then cannot match.
- The PATCH that commits the last byte also moves the upload to `ingesting` in the same
  update, so exactly one request turns it into a photo (`media.ingest`). When that PATCH
  holds the rest of the photo in memory (≤ 8 MiB), it checks and decodes it while its chunks
  are still being written, and uses the outcome only if its commit wins.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from media import holder, ingest
from media.blobstore import CHUNK_SIZE, BlobStore
from media.errors import (
    ChecksumMismatch,
    EmptyUpload,
    OffsetMismatch,
    TusVersionUnsupported,
    UnsupportedContentType,
)
from media.links import LinkTarget, check_link_target, validate_link
from server.actor import Actor
from server.clock import DEVICE_TIMES
from server.config import Settings
from server.errors import Conflict, DomainError, NotFound, RuleViolation, TooLarge
from server.models.photo import PhotoContext
from server.models.upload import COMPLETE, INGESTING, RECEIVING, Upload

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
PATCH_CONTENT_TYPE = "application/offset+octet-stream"
EXTENSIONS = ("creation", "creation-with-upload", "checksum", "termination", "expiration")
#: tus requires sha1; sha256 is what our phones send.
CHECKSUM_ALGORITHMS: dict[str, Callable] = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
#: Bytes asked from the request stream at a time: one blob-store chunk, so a PATCH holds at
#: most one chunk (plus what it keeps for the ingest) and full chunks are never copied.
READ_SIZE = CHUNK_SIZE

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_DIGITS = re.compile(r"^[0-9]{1,15}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Metadata keys we read; others are ignored (tus clients add their own, e.g. `filetype`).
_TEXT_LIMITS = {"filename": 255, "content_type": 100}
#: Attempts recorded without a holder are presumed dead this long after the upload's last
#: commit (no PATCH body takes that long).
LEGACY_ATTEMPT_LEASE = timedelta(hours=1)


class BadRequest(DomainError):
    """A malformed tus header."""


@dataclass(frozen=True)
class UploadRequest:
    """`Upload-Metadata` of a photo upload, parsed and checked."""

    sha256: str
    link_kind: str
    link_id: str
    item_code: str | None = None
    filename: str | None = None
    content_type: str | None = None
    device_time: datetime | None = None
    capture: str | None = None


#: `capture`: how the phone app says it got the picture: its own camera screen, or the
#: gallery. A declaration of our app, shown to reviewers; it proves nothing by itself (a
#: changed client can say anything) and is read beside the EXIF times and GPS.
CAPTURES = ("camera", "library")


def require_version(header: str | None) -> None:
    """Every request but OPTIONS names the protocol version it speaks."""
    if header != TUS_VERSION:
        raise TusVersionUnsupported(
            f"send 'Tus-Resumable: {TUS_VERSION}' (got {header!r}); see OPTIONS for Tus-Version"
        )


def require_patch_type(content_type: str | None) -> None:
    if (content_type or "").split(";")[0].strip().lower() != PATCH_CONTENT_TYPE:
        raise UnsupportedContentType(f"a PATCH body must be sent as {PATCH_CONTENT_TYPE}")


def carries_data(content_type: str | None) -> bool:
    """creation-with-upload: a creation request whose body is the first bytes."""
    return (content_type or "").split(";")[0].strip().lower() == PATCH_CONTENT_TYPE


def parse_int_header(name: str, value: str | None) -> int:
    if value is None or not _DIGITS.match(value.strip()):
        raise BadRequest(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def parse_metadata(header: str | None) -> dict[str, str]:
    """tus `Upload-Metadata`: comma-separated `key base64(value)` pairs (value optional)."""
    pairs: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, encoded = item.partition(" ")
        if not _METADATA_KEY.match(key) or key in pairs:
            raise _metadata_error(key or "?", "keys are unique ASCII words")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise _metadata_error(key, "the value must be base64 of UTF-8 text") from None
    return pairs


def parse_upload_request(header: str | None) -> UploadRequest:
    """The photo's metadata: sha256 (required), link_kind, link_id (required), item_code,
    filename, content_type, device_time (ISO 8601 with a UTC offset)."""
    meta = parse_metadata(header)
    errors = []
    sha256 = meta.get("sha256", "")
    if not _SHA256.match(sha256):
        errors.append(_field("sha256", "required: the SHA-256 of the whole file, 64 hex digits"))
    errors += validate_link(
        meta.get("link_kind", ""), meta.get("link_id", ""), meta.get("item_code")
    )
    for key, limit in _TEXT_LIMITS.items():
        if key in meta and (len(meta[key]) > limit or _CONTROL.search(meta[key])):
            errors.append(_field(key, f"at most {limit} characters, no control characters"))
    device_time = None
    if meta.get("device_time"):
        try:
            device_time = datetime.fromisoformat(meta["device_time"])
        except ValueError:
            device_time = None
        if device_time is None or device_time.tzinfo is None:
            errors.append(_field("device_time", "ISO 8601 with a UTC offset, e.g. ...+08:00"))
        elif not DEVICE_TIMES[0] <= device_time <= DEVICE_TIMES[1]:
            errors.append(_field("device_time", "an instant of years 1 to 9999 in UTC"))
    if meta.get("capture") not in (None, *CAPTURES):
        errors.append(_field("capture", f"one of {', '.join(CAPTURES)}"))
    if errors:
        raise RuleViolation("Upload-Metadata is invalid", errors=errors)
    return UploadRequest(
        sha256=sha256.lower(),
        link_kind=meta["link_kind"],
        link_id=meta["link_id"],
        item_code=meta.get("item_code"),
        filename=(meta.get("filename") or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or None,
        content_type=meta.get("content_type"),
        device_time=device_time,
        capture=meta.get("capture"),
    )


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """`Upload-Checksum: <algorithm> <base64 digest>` → (algorithm, digest), or None."""
    if header is None:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise BadRequest(
            f"checksum algorithm {algorithm!r} is not supported; use one of "
            + ", ".join(CHECKSUM_ALGORITHMS)
        )
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("Upload-Checksum: the digest must be base64") from None
    if len(digest) != CHECKSUM_ALGORITHMS[algorithm]().digest_size:
        raise BadRequest(f"Upload-Checksum: a {algorithm} digest has another length")
    return algorithm, digest


def create_upload(
    actor: Actor,
    *,
    length: int,
    metadata_header: str | None,
    now: datetime,
    settings: Settings,
) -> Upload:
    """tus creation: check size, metadata and the link target, then record the upload."""
    if length == 0:
        raise EmptyUpload("an empty file is not a photo")
    if length > settings.max_upload_bytes:
        raise TooLarge(
            f"{length} bytes is more than the {settings.max_upload_bytes} allowed (Tus-Max-Size)",
            limit=settings.max_upload_bytes,
            unit="bytes",
        )
    request = parse_upload_request(metadata_header)
    check_link_target(actor, request.link_kind, request.link_id, request.sha256)
    upload = Upload(
        id=secrets.token_hex(16),
        uploader_id=actor.user_id,
        length=length,
        sha256=request.sha256,
        filename=request.filename,
        content_type=request.content_type,
        link_kind=request.link_kind,
        link_id=request.link_id,
        item_code=request.item_code,
        metadata_header=metadata_header,
        device_time=request.device_time,
        capture=request.capture,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=settings.upload_expiry_hours),
    )
    return upload.save(force_insert=True)


def get_upload(actor: Actor, upload_id: str, *, now: datetime) -> Upload:
    """The caller's upload (admins: any); another's, an unknown or an expired one is 404."""
    # By `_id` alone (the index every server uses), then the scoping rule of the model.
    upload = Upload.objects(id=str(upload_id)).first()
    if not Upload.audience.allows(actor, upload):
        raise NotFound(f"upload {upload_id} not found (or expired)")
    if upload.expires_at < now and upload.state != INGESTING:
        raise NotFound(f"upload {upload_id} not found (or expired)")
    return upload


def append(
    actor: Actor,
    upload_id: str,
    *,
    offset: int,
    read: Callable[[int], bytes],
    content_length: int | None,
    checksum: tuple[str, bytes] | None,
    now: datetime,
    settings: Settings,
    store: BlobStore,
) -> tuple[Upload, PhotoContext | None]:
    """tus PATCH: append the body at `offset`; the last byte turns the upload into a photo."""
    upload = get_upload(actor, upload_id, now=now)
    if upload.state != RECEIVING:
        raise OffsetMismatch(_finished(upload), offset=upload.offset)
    if offset != upload.offset:
        raise OffsetMismatch(
            f"the upload is at offset {upload.offset}, not {offset}: resume from there",
            offset=upload.offset,
        )
    remaining = upload.length - offset
    if content_length is not None and content_length > remaining:
        raise TooLarge(
            f"{content_length} bytes sent, {remaining} expected at most",
            limit=remaining,
            unit="bytes",
        )
    prefix = f"{upload.id}.{secrets.token_hex(6)}"
    collection = Upload._get_collection()
    me = holder.current(collection.database)
    # The attempt names this process as its holder (`media.holder`): chunks of an attempt
    # whose request or process is gone are found and deleted by the maintenance job. The
    # last PATCH also holds a share of the process's decode budget (`ingest.decode_slot`)
    # from before its commit until the photo is stored.
    with contextlib.ExitStack() as decoding:
        since = decoding.enter_context(me.hold(prefix))
        attempt = {"prefix": prefix, "start": offset, "holder": me.id, "since": since}
        claimed = collection.update_one(
            {"_id": upload.id, "offset": offset, "state": RECEIVING},
            {"$push": {"attempts": attempt}},
        )
        if claimed.matched_count == 0:
            raise OffsetMismatch("another PATCH moved the offset: HEAD, then resume", offset=None)
        # The PATCH that brings the rest of a photo small enough to keep in memory checks and
        # decodes it while its chunks are still being written (MongoDB on another core): the
        # outcome is used only if this PATCH commits, so doing it early changes nothing else.
        final = content_length == remaining and remaining <= ingest.READ_CACHE_BYTES
        prepared: ingest.Prepared | DomainError | None = None
        writer = ThreadPoolExecutor(1, thread_name_prefix="stage") if final else None
        committing: Future | None = None
        try:
            staged = _stage_body(
                store,
                upload.id,
                prefix,
                read,
                remaining,
                checksum,
                whole_file=offset == 0,
                writer=writer,
            )
            received = staged.received
            truncated = content_length is not None and received < content_length
            if checksum is not None and (truncated or staged.checksum != checksum[1]):
                raise ChecksumMismatch(
                    f"the body does not match Upload-Checksum ({checksum[0]}); nothing was kept"
                )
            if received == remaining:  # waits its turn, or 503 before anything is committed
                parts = [*map(dict, upload.segments), {"prefix": prefix, "size": received}]
                decoding.enter_context(
                    ingest.decode_slot(parts, store=store, warm=staged.chunks, settings=settings)
                )
            if final and received == remaining > 0:
                # The link is checked first: a failure to check it fails the PATCH with
                # nothing committed. Then the writer's thread commits once this PATCH's chunks
                # are written, and reads the records, while this thread decodes.
                target = _target(actor, upload)
                changes = _changes(upload, offset + received, now, settings, decoding, me)
                committing = writer.submit(
                    _commit_when_written, staged.writes, upload, offset, prefix, received, changes
                )
                prepared = _prepare(
                    upload, prefix, staged, actor, target, now, settings, store, writer
                )
            for write in staged.writes:
                write.result()  # a failed write fails the PATCH: nothing is acknowledged
        except BaseException:
            if writer:
                writer.shutdown(wait=True)  # no write may land after the discard
            if not _tried(committing):
                _abandon(collection, store, upload.id, prefix, upload.length - offset)
            raise
        finally:
            if writer:
                writer.shutdown(wait=True)
        if received == 0:
            _abandon(collection, store, upload.id, prefix, 0)
            return upload, None
        if committing is None:
            changes = _changes(upload, offset + received, now, settings, decoding, me)
            committed = _commit(upload, offset, prefix, received, changes)
        else:
            committed = committing.result()
        if not committed:
            _abandon(collection, store, upload.id, prefix, received)
            raise OffsetMismatch("another PATCH moved the offset: HEAD, then resume", offset=None)
        # The update succeeded, so the document is exactly this (no need to read it back).
        upload.offset = offset + received
        upload.segments.append({"prefix": prefix, "size": received})
        for key, value in changes.items():
            setattr(upload, key, value)
        if upload.state != INGESTING:
            return upload, None
        context = ingest.finish_upload(
            upload,
            actor=actor,
            now=now,
            settings=settings,
            store=store,
            received=ingest.Received(chunks=staged.chunks, sha256=staged.sha256),
            prepared=prepared,
        )
        upload.state, upload.photo_id = COMPLETE, context.photo
        return upload, context


def _changes(upload, new_offset, now, settings, decoding, me) -> dict:
    """What the commit of a PATCH ending at `new_offset` sets; the PATCH that brings the last
    byte makes the ingest its own until it ends (held in `decoding`'s exit stack)."""
    changes = {
        "offset": new_offset,
        "updated_at": now,
        "expires_at": now + timedelta(hours=settings.upload_expiry_hours),
    }
    if new_offset == upload.length:
        started = decoding.enter_context(me.hold(upload.id))
        changes.update(
            state=INGESTING,
            ingest_claimed_at=now,
            ingest_holder={"id": me.id, "since": started},
        )
    return changes


def _commit(upload: Upload, offset: int, prefix: str, received: int, changes: dict) -> bool:
    """Make a PATCH's staged chunks part of the upload, unless another PATCH moved it."""
    committed = Upload._get_collection().update_one(
        {"_id": upload.id, "offset": offset, "state": RECEIVING},
        {
            "$set": changes,
            "$push": {"segments": {"prefix": prefix, "size": received}},
            "$pull": {"attempts": {"prefix": prefix}},
        },
    )
    return committed.matched_count == 1


def _commit_when_written(writes: list[Future], *args) -> bool | None:
    """`_commit`, on the writer's thread after the PATCH's chunk writes; None, committing
    nothing, when one of them failed."""
    if any(write.exception() for write in writes):
        return None
    return _commit(*args)


def _tried(committing: Future | None) -> bool:
    """Whether a failed PATCH's commit was sent, so its chunks must stay: it committed, or
    it raised, and an error may come after the write landed (as for `_commit` inline)."""
    if committing is None or not committing.done():
        return False
    return committing.exception() is not None or bool(committing.result())


def _finished(upload: Upload) -> str:
    """Why a PATCH on an upload that has all its bytes changes nothing."""
    if upload.state == COMPLETE:
        return (
            f"the upload is complete: all {upload.length} bytes arrived and are photo "
            f"{upload.photo_id}; there is nothing more to send"
        )
    return (
        f"all {upload.length} bytes arrived and the photo is being stored; there is nothing "
        "more to send (HEAD shows Photo-Id once it is stored)"
    )


def _target(actor: Actor, upload: Upload) -> LinkTarget | DomainError:
    """The link target the last PATCH's ingest checks, or its refusal (kept as the outcome)."""
    try:
        return ingest.link_target(actor, upload)
    except DomainError as refusal:
        return refusal


def _prepare(upload, prefix, staged, actor, target, now, settings, store, pool):
    """`ingest.prepare` over the committed segments plus this PATCH's (held in memory), its
    reads on `pool`'s thread; a refusal is kept as the outcome, to be raised once this PATCH
    owns the ingest."""
    if isinstance(target, DomainError):
        return target
    parts = [dict(s) for s in upload.segments] + [{"prefix": prefix, "size": staged.received}]
    received = ingest.Received(chunks=staged.chunks, sha256=staged.sha256)
    try:
        return ingest.prepare(
            upload,
            parts,
            actor=actor,
            now=now,
            settings=settings,
            store=store,
            received=received,
            target=target,
            pool=pool,
        )
    except DomainError as refusal:
        return refusal


@dataclass
class _Staged:
    received: int = 0
    checksum: bytes | None = None
    #: What the last PATCH of an upload keeps for its ingest: the chunks it wrote (when the
    #: whole rest of the file fits the ingest's read cache) and, for a single-PATCH upload,
    #: the whole file's SHA-256, so the ingest need not read them back from MongoDB.
    chunks: dict = field(default_factory=dict)
    sha256: str | None = None
    writes: list[Future] = field(default_factory=list)


def _stage_body(
    store, owner, prefix, read, remaining, checksum, *, whole_file, writer=None
) -> _Staged:
    """Stream the body into staged chunks of CHUNK_SIZE (never more than one in memory
    unless kept for the ingest, which bounds them by its cache size). With a `writer`, the
    chunks are written by its thread while the body is still being read."""
    staged = _Staged()
    hasher = CHECKSUM_ALGORITHMS[checksum[0]]() if checksum else None
    file_hasher = hashlib.sha256() if whole_file else None
    keep = remaining <= ingest.READ_CACHE_BYTES
    buffer, n = bytearray(), 0

    def flush(data: bytes):
        if writer is not None:
            staged.writes.append(writer.submit(store.stage, prefix, n, data, owner=owner))
        else:
            store.stage(prefix, n, data, owner=owner)
        if keep:
            staged.chunks[(prefix, n)] = data

    while True:
        data = read(min(READ_SIZE, CHUNK_SIZE - len(buffer)))
        if not data:
            break
        staged.received += len(data)
        if staged.received > remaining:
            raise TooLarge(
                f"the body goes past Upload-Length ({remaining} bytes left)",
                limit=remaining,
                unit="bytes",
            )
        for h in (hasher, file_hasher):
            if h:
                h.update(data)
        if not buffer and len(data) == CHUNK_SIZE:  # the usual case: a whole chunk at once
            flush(data)
            n += 1
            continue
        buffer += data
        if len(buffer) == CHUNK_SIZE:
            flush(bytes(buffer))
            buffer.clear()
            n += 1
    if buffer:
        flush(bytes(buffer))
    staged.checksum = hasher.digest() if hasher else None
    if file_hasher and staged.received == remaining:
        staged.sha256 = file_hasher.hexdigest()
    return staged


def _abandon(collection, store: BlobStore, upload_id: str, prefix: str, size: int) -> None:
    """Forget an attempt that will not commit: its chunks, then its record."""
    store.discard_staged([{"prefix": prefix, "size": max(size, 1)}])
    collection.update_one({"_id": upload_id}, {"$pull": {"attempts": {"prefix": prefix}}})


def terminate(actor: Actor, upload_id: str, *, now: datetime, store: BlobStore) -> None:
    """tus termination: forget the upload and its bytes (a finished photo stays)."""
    upload = get_upload(actor, upload_id, now=now)
    if upload.state == INGESTING:
        raise Conflict("the upload is being turned into a photo; it can no longer be ended")
    _delete(upload, store)


def _delete(upload: Upload, store: BlobStore) -> bool:
    """Delete the upload record if it did not change meanwhile, then its staged bytes."""
    gone = Upload._get_collection().delete_one(
        {"_id": upload.id, "state": upload.state, "offset": upload.offset}
    )
    if gone.deleted_count == 0:
        return False
    if upload.state != COMPLETE:
        store.discard_staged(upload.staged_parts())
    else:  # its segments belong to its photo's blob; attempts left open are nobody's
        store.discard_staged(upload.attempt_parts())
    return True


def expire_stale_uploads(now: datetime, *, store: BlobStore | None = None) -> int:
    """Delete uploads past their `expires_at` (unfinished ones with their bytes); returns how
    many. A job, because TTL indexes are ignored by the embedded server."""
    store = store or BlobStore(Upload._get_db())
    count = 0
    stale = Upload.objects(expires_at__lt=now, state__ne=INGESTING).batch_size(100)
    for upload in stale:
        if _delete(upload, store):
            count += 1
    if count:
        log.info("expired uploads", extra={"count": count})
    return count


def discard_dead_attempts(now: datetime, *, store: BlobStore | None = None) -> int:
    """Delete the chunks of PATCHes whose request or process is gone (`media.holder`), e.g.
    one that MongoDB's crash interrupted before it could commit or clean up; returns how
    many attempts. Reads only uploads that list open attempts (the uploads collection holds
    unexpired uploads alone), never the chunks; an attempt of a PATCH in progress is named
    by its living holder and left alone."""
    store = store or BlobStore(Upload._get_db())
    collection = Upload._get_collection()
    count = 0
    with_attempts = collection.find(
        {"attempts.0": {"$exists": True}}, {"attempts": 1, "length": 1, "updated_at": 1}
    ).batch_size(100)
    for doc in with_attempts:
        found = holder.holders(collection.database, (a.get("holder") for a in doc["attempts"]))
        for attempt in doc["attempts"]:
            if "holder" in attempt:
                dead = holder.gone(
                    found, attempt["holder"], attempt["prefix"], attempt["since"], now=now
                )
            else:  # recorded before attempts named their holder
                dead = doc["updated_at"] < now - LEGACY_ATTEMPT_LEASE
            if not dead:
                continue
            # The record goes first: were the process alive after all, its commit (which
            # pulls its own record) can no longer name chunks deleted next.
            pulled = collection.update_one(
                {"_id": doc["_id"]}, {"$pull": {"attempts": {"prefix": attempt["prefix"]}}}
            )
            if pulled.modified_count:
                size = doc["length"] - attempt["start"]
                store.discard_staged([{"prefix": attempt["prefix"], "size": size}])
                count += 1
    if count:
        log.info("discarded dead upload attempts", extra={"count": count})
    return count


def options_headers(settings: Settings) -> dict[str, str]:
    """What OPTIONS advertises."""
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": ",".join(EXTENSIONS),
        "Tus-Max-Size": str(settings.max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def _field(key: str, message: str) -> dict:
    return {"in": "headers", "field": f"Upload-Metadata.{key}", "messages": [message]}


def _metadata_error(key: str, message: str) -> RuleViolation:
    return RuleViolation("Upload-Metadata is invalid", errors=[_field(key, message)])
