"""The content-addressed blob store on the real MongoDB-wire server."""

from __future__ import annotations

import hashlib
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
