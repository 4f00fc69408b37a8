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


def test_a_batch_stores_its_contents_and_adopts_staged_parts(store, db):
    staged = os.urandom(CHUNK_SIZE + 10)
    parts = [_stage(store, "u1.a", staged)]
    sha = hashlib.sha256(staged).hexdigest()
    small, large = os.urandom(100), os.urandom(CHUNK_SIZE * 2 + 1)
    batch = store.batch(now=utcnow())
    ids = [batch.put(small, content_type="image/jpeg"), batch.put(large)]
    batch.adopt(sha, parts, verified_sha256=sha, content_type="image/png")
    assert batch.commit() == {sha}
    assert ids == [hashlib.sha256(small).hexdigest(), hashlib.sha256(large).hexdigest()]
    assert [store.read_all(i) for i in ids] == [small, large] and store.read_all(sha) == staged
    assert store.info(ids[0])["content_type"] == "image/jpeg"
    assert store.info(sha)["content_type"] == "image/png"
    assert db["media_chunks"].count_documents({}) == 2 + 1 + 3  # staged, small, large


def test_a_batch_run_again_stores_nothing_twice_and_adopts_nothing(store, db):
    staged = b"staged bytes"
    sha = hashlib.sha256(staged).hexdigest()
    for _ in range(2):
        batch = store.batch(now=utcnow())
        batch.put(b"derived")
        batch.adopt(sha, [_stage(store, "u1.a", staged)], verified_sha256=sha)
        adopted = batch.commit()
    assert adopted == set()  # stored already: the caller keeps or discards its parts
    assert db["media_blobs"].count_documents({}) == 2
    assert db["media_chunks"].count_documents({}) == 2
    assert store.read_all(hashlib.sha256(b"derived").hexdigest()) == b"derived"


def test_a_batch_cut_off_after_its_chunks_is_completed_by_running_it_again(store, db):
    data = os.urandom(CHUNK_SIZE + 5)
    sha = hashlib.sha256(data).hexdigest()
    for n in range(2):  # what a commit that died before the blob documents leaves
        db["media_chunks"].insert_one({"_id": f"{sha}:{n}", "data": b"stale"})
    batch = store.batch(now=utcnow())
    batch.put(data)
    assert not store.has(sha)
    batch.commit()
    assert store.read_all(sha) == data


def test_a_batch_refuses_adopting_content_not_hashing_to_its_name(store):
    batch = store.batch(now=utcnow())
    with pytest.raises(BlobMismatch):
        batch.adopt("0" * 64, [_stage(store, "u1.a", b"abc")], verified_sha256="1" * 64)
    assert batch.commit() == set() and not store.has("0" * 64)


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
