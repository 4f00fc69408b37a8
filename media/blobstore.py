"""Content-addressed blob storage in MongoDB: bytes are named by their SHA-256.

Layout, chosen to read fast on both the embedded server and MongoDB: one `media_blobs`
document per content (`_id` = hex SHA-256) and its bytes in `media_chunks` documents whose
`_id` is `"<sha256>:<n>"`. Every read is a lookup by `_id` (the one index every server uses),
so reading a photo costs the same however many are stored, unlike GridFS, whose
`{files_id, n}` chunk query scans all chunks on the embedded server.

Writes are idempotent: chunks first, the blob document last, so a blob document exists only
when all its bytes do ("have I got this hash" is one `_id` lookup), and writing the same
content twice stores it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from bson import Binary
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

#: Bytes per chunk document: well under MongoDB's 16 MB document limit and the embedded
#: server's reply limit, large enough that a 12-MP photo is a handful of documents.
CHUNK_SIZE = 1024 * 1024

BLOBS = "media_blobs"
CHUNKS = "media_chunks"


class BlobMismatch(ValueError):
    """The bytes do not hash to the name they were stored under."""


def chunk_id(sha256: str, n: int) -> str:
    return f"{sha256}:{n}"


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
        end = info["size"] if end is None else min(end, info["size"])
        if start >= end:
            return
        first, last = start // CHUNK_SIZE, (end - 1) // CHUNK_SIZE
        for n in range(first, last + 1):
            chunk = self._chunks.find_one({"_id": chunk_id(sha256, n)})
            data = bytes(chunk["data"])
            lo = start - n * CHUNK_SIZE if n == first else 0
            hi = end - n * CHUNK_SIZE if n == last else len(data)
            yield data[lo:hi]

    def read_all(self, sha256: str) -> bytes:
        return b"".join(self.read(sha256))
