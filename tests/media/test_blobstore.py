"""The content-addressed blob store on the real MongoDB-wire server."""

from __future__ import annotations

import hashlib
import io
import os

import pytest

from media.blobstore import CHUNK_SIZE, BlobMismatch, BlobStore
from server.clock import utcnow


@pytest.fixture
def store(db):
    return BlobStore(db)


def test_put_read_and_ranges(store):
    data = os.urandom(CHUNK_SIZE * 2 + 123)
    doc = store.put(data, now=utcnow(), content_type="image/jpeg")
    sha = hashlib.sha256(data).hexdigest()
    assert doc["_id"] == sha and doc["size"] == len(data) and doc["chunks"] == 3
    assert store.read_all(sha) == data
    assert (
        b"".join(store.read(sha, CHUNK_SIZE - 5, CHUNK_SIZE + 5))
        == data[CHUNK_SIZE - 5 : CHUNK_SIZE + 5]
    )
    assert b"".join(store.read(sha, len(data) - 1)) == data[-1:]


def test_same_content_is_stored_once(store, db):
    data = os.urandom(1000)
    store.put(data, now=utcnow())
    store.put(data, now=utcnow())
    assert db["media_blobs"].count_documents({}) == 1
    assert db["media_chunks"].count_documents({}) == 1


def test_missing_lists_unknown_hashes_in_order_without_repeats(store):
    known = store.put(b"known", now=utcnow())["_id"]
    a, b = "a" * 64, "b" * 64
    assert store.missing([b, known, a, b]) == [b, a]
    assert store.has(known) and not store.has(a)


def test_wrong_hash_stores_nothing(store, db):
    with pytest.raises(BlobMismatch):
        store.put_chunks("0" * 64, [b"not matching"], now=utcnow())
    assert db["media_blobs"].count_documents({}) == 0
    assert db["media_chunks"].count_documents({}) == 0


def test_empty_content(store):
    doc = store.put(b"", now=utcnow())
    assert doc["size"] == 0 and store.read_all(doc["_id"]) == b""


def _stage(store, prefix, data):
    for n in range(0, len(data), CHUNK_SIZE):
        store.stage(prefix, n // CHUNK_SIZE, data[n : n + CHUNK_SIZE], owner="u1")
    return {"prefix": prefix, "size": len(data)}


def test_adopted_parts_read_as_one_blob_without_copies(store, db):
    a, b = os.urandom(CHUNK_SIZE + 10), os.urandom(CHUNK_SIZE * 2 + 7)
    parts = [_stage(store, "u1.a", a), _stage(store, "u1.b", b)]
    sha = hashlib.sha256(a + b).hexdigest()
    doc, adopted = store.adopt(sha, parts, verified_sha256=sha, now=utcnow())
    assert adopted and doc["size"] == len(a + b) and store.has(sha)
    assert store.read_all(sha) == a + b
    assert db["media_chunks"].count_documents({}) == 5  # 2 + 3 staged, nothing copied
    lo, hi = len(a) - 5, len(a) + CHUNK_SIZE + 3  # across both parts and a chunk boundary
    assert b"".join(store.read(sha, lo, hi)) == (a + b)[lo:hi]
    again, adopted = store.adopt(sha, parts, verified_sha256=sha, now=utcnow())
    assert not adopted and again["_id"] == sha


def test_adopt_refuses_content_not_hashing_to_its_name(store):
    parts = [_stage(store, "u1.a", b"abc")]
    with pytest.raises(BlobMismatch):
        store.adopt("0" * 64, parts, verified_sha256="1" * 64, now=utcnow())
    assert not store.has("0" * 64)


def test_discard_staged_deletes_by_id(store, db):
    parts = [_stage(store, "u1.a", os.urandom(CHUNK_SIZE * 2)), _stage(store, "u1.b", b"x")]
    store.discard_staged([{"prefix": "u1.a", "size": CHUNK_SIZE * 5}])  # over-counting is fine
    assert db["media_chunks"].count_documents({}) == 1
    store.discard_staged(parts)
    assert db["media_chunks"].count_documents({}) == 0


def test_blob_reader_is_a_seekable_file_with_a_bounded_cache(store):
    data = os.urandom(CHUNK_SIZE * 3 + 99)
    parts = [_stage(store, "u1.a", data[:1000]), _stage(store, "u1.b", data[1000:])]
    reader = store.open_parts(parts, cache_bytes=CHUNK_SIZE)
    assert reader.size == len(data) and reader.read(10) == data[:10]
    reader.seek(-50, io.SEEK_END)
    assert reader.read() == data[-50:]
    reader.seek(995)
    assert reader.read(10) == data[995:1005]
    buffer = bytearray(CHUNK_SIZE)
    reader.seek(2000)
    n = reader.readinto(buffer)
    assert bytes(buffer[:n]) == data[2000 : 2000 + n]
    assert len(reader._cache) == 1
