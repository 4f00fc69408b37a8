"""Content-addressed blob storage in MongoDB: bytes are named by their SHA-256.

Layout, chosen to read fast on both the embedded server and MongoDB: one `media_blobs`
document per content (`_id` = hex SHA-256) and its bytes in `media_chunks` documents whose
`_id` is `"<sha256>:<n>"`. Every read is a lookup by `_id` (the one index every server uses),
so reading a photo costs the same however many are stored, unlike GridFS, whose
`{files_id, n}` chunk query scans all chunks on the embedded server.

Writes are idempotent: chunks first, the blob document last, so a blob document exists only
when all its bytes do ("have I got this hash" is one `_id` lookup), and writing the same
content twice stores it once.

Staged content (resumable uploads): bytes that arrive before their hash is known are written
once, as chunks under a prefix of the uploader's choosing (`"<prefix>:<n>"`), and the blob
document then *adopts* them: it lists its parts (`[{"prefix", "size"}, ...]`, in order)
instead of copying them under its hash. A blob without `parts` has one part whose prefix is
its hash. Either way every read is by `_id`, and the bytes of a photo are written once.

Several contents stored together (a photo's derived copies and its adopted original) go as
one `Batch`: all their chunks in one write, then all their blob documents in one more, so
the order above holds for each and a photo costs two round trips, not three per content.
"""

from __future__ import annotations

import bisect
import hashlib
import io
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from datetime import datetime

from bson import Binary
from pymongo.database import Database
from pymongo.errors import BulkWriteError, DuplicateKeyError

#: Bytes per chunk document: well under MongoDB's 16 MB document limit and the embedded
#: server's reply limit, large enough that a 12-MP photo is a handful of documents.
CHUNK_SIZE = 1024 * 1024

BLOBS = "media_blobs"
CHUNKS = "media_chunks"


class BlobMismatch(ValueError):
    """The bytes do not hash to the name they were stored under."""


def chunk_id(sha256: str, n: int) -> str:
    return f"{sha256}:{n}"


def chunk_count(size: int) -> int:
    """Chunks of a part of `size` bytes (every one CHUNK_SIZE but the last)."""
    return -(-size // CHUNK_SIZE)


def blob_parts(info: dict) -> list[dict]:
    """The parts of a blob document, in order: `[{"prefix", "size"}]`."""
    return info.get("parts") or [{"prefix": info["_id"], "size": info["size"]}]


class BlobStore:
    """Blobs in one MongoDB database; safe to share between threads (pymongo is)."""

    def __init__(self, db: Database):
        self._blobs = db[BLOBS]
        self._chunks = db[CHUNKS]

    def has(self, sha256: str) -> bool:
        """True when every byte of this content is stored."""
        return self._blobs.count_documents({"_id": sha256}, limit=1) == 1

    def missing(self, hashes: Iterable[str]) -> list[str]:
        """The hashes (in the order given, without repeats) that are not stored yet."""
        wanted = list(dict.fromkeys(hashes))
        if not wanted:
            return []
        present = {d["_id"] for d in self._blobs.find({"_id": {"$in": wanted}}, {"_id": 1})}
        return [h for h in wanted if h not in present]

    def info(self, sha256: str) -> dict | None:
        """The blob document (size, chunk count, metadata), or None."""
        return self._blobs.find_one({"_id": sha256})

    def put_chunks(self, sha256: str, chunks: Iterable[bytes], *, now: datetime, **meta) -> dict:
        """Store content given as chunks of CHUNK_SIZE bytes (the last may be shorter), verify
        it hashes to `sha256`, then record the blob. Storing known content is a no-op."""
        existing = self.info(sha256)
        if existing is not None:
            return existing
        digest, size, n, short = hashlib.sha256(), 0, 0, False
        for n, data in enumerate(chunks):  # noqa: B007 - n is used after the loop
            if short:  # reads compute offsets from CHUNK_SIZE: only the last may be shorter
                raise ValueError("every chunk but the last must be CHUNK_SIZE bytes")
            short = len(data) != CHUNK_SIZE
            digest.update(data)
            size += len(data)
            try:
                self._chunks.insert_one({"_id": chunk_id(sha256, n), "data": Binary(data)})
            except DuplicateKeyError:
                # Left by an earlier interrupted write of the same content: same bytes.
                self._chunks.replace_one({"_id": chunk_id(sha256, n)}, {"data": Binary(data)})
        count = n + 1 if size else 0
        if digest.hexdigest() != sha256:
            self._chunks.delete_many({"_id": {"$in": [chunk_id(sha256, i) for i in range(count)]}})
            raise BlobMismatch(f"content hashes to {digest.hexdigest()}, not {sha256}")
        doc = {"_id": sha256, "size": size, "chunks": count, "created_at": now, **meta}
        try:
            self._blobs.insert_one(doc)
        except DuplicateKeyError:  # stored concurrently by someone else: same content
            return self.info(sha256)
        return doc

    def put(self, data: bytes, *, now: datetime, **meta) -> dict:
        """Store `data` under its own SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        parts = (data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE))
        return self.put_chunks(sha256, parts, now=now, **meta)

    def read(self, sha256: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The stored bytes [start, end) as a stream of pieces; KeyError if not stored."""
        info = self.info(sha256)
        if info is None:
            raise KeyError(sha256)
        return self.read_parts(blob_parts(info), start, end)

    def read_parts(
        self, parts: list[dict], start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        """Bytes [start, end) of the concatenated parts (a blob's, or staged ones)."""
        total = sum(p["size"] for p in parts)
        end = total if end is None else min(end, total)
        base = 0
        for part in parts:
            lo, hi = max(start, base), min(end, base + part["size"])
            if lo < hi:
                yield from self._read_part(part["prefix"], lo - base, hi - base)
            base += part["size"]

    def _read_part(self, prefix: str, start: int, end: int) -> Iterator[bytes]:
        first, last = start // CHUNK_SIZE, (end - 1) // CHUNK_SIZE
        for n in range(first, last + 1):
            chunk = self._chunks.find_one({"_id": chunk_id(prefix, n)})
            if chunk is None:
                raise KeyError(chunk_id(prefix, n))
            data = chunk["data"]
            lo = start - n * CHUNK_SIZE if n == first else 0
            hi = end - n * CHUNK_SIZE if n == last else len(data)
            yield bytes(data[lo:hi]) if (lo, hi) != (0, len(data)) else bytes(data)

    def chunk(self, prefix: str, n: int) -> bytes:
        """One chunk's bytes, by `_id`; KeyError if absent."""
        doc = self._chunks.find_one({"_id": chunk_id(prefix, n)})
        if doc is None:
            raise KeyError(chunk_id(prefix, n))
        return bytes(doc["data"])

    def open_parts(
        self, parts: list[dict], *, cache_bytes: int = 8 * CHUNK_SIZE, warm: dict | None = None
    ) -> BlobReader:
        """A seekable read-only file over parts (what Pillow and the format checks read);
        `warm` maps `(prefix, n)` to chunk bytes the caller already holds."""
        return BlobReader(self, parts, cache_bytes=cache_bytes, warm=warm)

    def stage(self, prefix: str, n: int, data: bytes, *, owner: str) -> None:
        """Write chunk `n` of a staged part; `owner` (an upload id) lets stray chunks be found."""
        doc = {"_id": chunk_id(prefix, n), "data": Binary(data), "staged_for": owner}
        try:
            self._chunks.insert_one(doc)
        except DuplicateKeyError:  # the same attempt writing again: last write wins
            self._chunks.replace_one({"_id": doc["_id"]}, doc)

    def discard_staged(self, parts: Iterable[dict]) -> None:
        """Delete staged parts that no blob adopted (`size` may over-count: ids are cheap)."""
        ids = [chunk_id(p["prefix"], n) for p in parts for n in range(chunk_count(p["size"]))]
        for i in range(0, len(ids), 500):
            self._chunks.delete_many({"_id": {"$in": ids[i : i + 500]}})

    def batch(self, *, now: datetime) -> Batch:
        """Contents to store together (`Batch.put`, `Batch.adopt`), written by `commit`."""
        return Batch(self, now=now)

    def adopt(
        self, sha256: str, parts: list[dict], *, verified_sha256: str, now: datetime, **meta
    ) -> tuple[dict, bool]:
        """Record staged parts as the content `sha256` without copying them.

        The caller has read every staged byte and hashed it (`verified_sha256`), as ingest
        does while validating the photo. Returns (blob document, adopted); when the content
        was stored already, the staged parts are the caller's to discard."""
        doc = _adoption(sha256, parts, verified_sha256=verified_sha256, now=now, **meta)
        try:
            self._blobs.insert_one(doc)
        except DuplicateKeyError:  # stored already (or concurrently, by another upload)
            return self.info(sha256), False
        return doc, True

    def read_all(self, sha256: str) -> bytes:
        return b"".join(self.read(sha256))


def _adoption(sha256: str, parts: list[dict], *, verified_sha256: str, now: datetime, **meta):
    """The blob document that adopts staged `parts` as the content `sha256`."""
    if verified_sha256 != sha256:
        raise BlobMismatch(f"content hashes to {verified_sha256}, not {sha256}")
    return {
        "_id": sha256,
        "size": sum(p["size"] for p in parts),
        "chunks": sum(chunk_count(p["size"]) for p in parts),
        "parts": [{"prefix": p["prefix"], "size": p["size"]} for p in parts],
        "created_at": now,
        **meta,
    }


class Batch:
    """Contents stored together in two writes: every chunk, then every blob document (the
    blob documents last, as for one content). Idempotent like `put` and `adopt`: content
    stored already (or concurrently) keeps its own document, and a `commit` cut off midway
    leaves chunks without a document, which the same commit run again completes."""

    def __init__(self, store: BlobStore, *, now: datetime):
        self._store = store
        self._now = now
        self._chunks: list[dict] = []
        self._docs: list[dict] = []
        self._adopting: set[str] = set()

    def put(self, data: bytes, **meta) -> str:
        """Store `data` under its own SHA-256 (returned) at `commit`."""
        sha256 = hashlib.sha256(data).hexdigest()
        pieces = [data[i : i + CHUNK_SIZE] for i in range(0, len(data), CHUNK_SIZE)]
        self._chunks += [
            {"_id": chunk_id(sha256, n), "data": Binary(piece)} for n, piece in enumerate(pieces)
        ]
        doc = {"_id": sha256, "size": len(data), "chunks": len(pieces), "created_at": self._now}
        self._docs.append({**doc, **meta})
        return sha256

    def adopt(self, sha256: str, parts: list[dict], *, verified_sha256: str, **meta) -> None:
        """Record staged `parts` as the content `sha256` at `commit` (`BlobStore.adopt`)."""
        self._docs.append(
            _adoption(sha256, parts, verified_sha256=verified_sha256, now=self._now, **meta)
        )
        self._adopting.add(sha256)

    def commit(self) -> set[str]:
        """Write the chunks, then the blob documents; returns the adopted hashes whose
        document this commit wrote (the other adoptions' staged parts are the caller's to
        discard: that content was stored already)."""
        chunks = self._store._chunks
        for duplicate in _insert_all(chunks, self._chunks):
            # Left by an earlier interrupted write of the same content: the same bytes, but
            # written again, as `put_chunks` does, so no stray chunk can stand for them.
            chunks.replace_one({"_id": duplicate["_id"]}, duplicate)
        existing = {d["_id"] for d in _insert_all(self._store._blobs, self._docs)}
        return self._adopting - existing


def _insert_all(collection, docs: list[dict]) -> list[dict]:
    """Insert `docs` in one unordered write; returns those whose `_id` was taken already."""
    if not docs:
        return []
    try:
        collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors") or []
        if not errors or any(e.get("code") != 11000 for e in errors):
            raise
        return [docs[e["index"]] for e in errors]
    return []


class BlobReader(io.RawIOBase):
    """Seekable file over blob parts, fetching chunks by `_id` on demand.

    Recently read chunks are kept up to `cache_bytes`, so a photo read several times in a row
    (hash, format checks, decode) comes from MongoDB once while it fits, and memory stays
    bounded for any size.
    """

    def __init__(
        self, store: BlobStore, parts: list[dict], *, cache_bytes: int, warm: dict | None = None
    ):
        super().__init__()
        self._store = store
        self._starts: list[int] = []
        self._chunks: list[tuple[str, int, int]] = []  # (prefix, n, size)
        base = 0
        for part in parts:
            for n in range(chunk_count(part["size"])):
                self._starts.append(base + n * CHUNK_SIZE)
                self._chunks.append(
                    (part["prefix"], n, min(CHUNK_SIZE, part["size"] - n * CHUNK_SIZE))
                )
            base += part["size"]
        self.size = base
        self._pos = 0
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._cache_limit = max(1, cache_bytes // CHUNK_SIZE)
        for index, (prefix, n, size) in enumerate(self._chunks):
            data = (warm or {}).get((prefix, n))
            if data is not None and len(data) == size and len(self._cache) < self._cache_limit:
                self._cache[index] = data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def _chunk(self, index: int) -> bytes:
        data = self._cache.get(index)
        if data is None:
            prefix, n, _ = self._chunks[index]
            data = self._store.chunk(prefix, n)
            self._cache[index] = data
            if len(self._cache) > self._cache_limit:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(index)
        return data

    def readinto(self, buffer) -> int:
        if self._pos >= self.size:
            return 0
        index = bisect.bisect_right(self._starts, self._pos) - 1
        data = self._chunk(index)
        lo = self._pos - self._starts[index]
        n = min(len(buffer), len(data) - lo)
        buffer[:n] = data[lo : lo + n]
        self._pos += n
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        pieces, wanted = [], min(size, max(0, self.size - self._pos))
        while wanted > 0:
            index = bisect.bisect_right(self._starts, self._pos) - 1
            data = self._chunk(index)
            lo = self._pos - self._starts[index]
            piece = data[lo : lo + wanted] if (lo, wanted) != (0, len(data)) else data
            pieces.append(piece)
            self._pos += len(piece)
            wanted -= len(piece)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)
