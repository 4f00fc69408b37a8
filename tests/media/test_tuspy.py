"""An off-the-shelf tus client (tuspy) against the app under a real WSGI server: a multi-MB
photo in chunks, interrupted, the API process restarted, resumed by a new uploader from the
server's offset; the same photo twice is stored once."""

from __future__ import annotations

import contextlib
import hashlib
import io
import threading

import pytest
from tusclient.client import TusClient
from tusclient.uploader import Uploader
from werkzeug.serving import make_server

from server.app import create_app
from server.models.photo import Photo
from tests.media import helpers as h


class Sha256Uploader(Uploader):
    """tuspy sends sha1 checksums by default; our phones send sha256 (both are accepted)."""

    CHECKSUM_ALGORITHM_PAIR = ("sha256", hashlib.sha256)


@contextlib.contextmanager
def live_server(settings, port: int = 0):
    """A fresh app (as a new API process would build it) on 127.0.0.1 (a free port)."""
    server = make_server("127.0.0.1", port, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1/uploads"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _uploader(endpoint, headers, data, meta, **kwargs):
    client = TusClient(endpoint, headers=headers)
    return Sha256Uploader(
        file_stream=io.BytesIO(data),  # tuspy leaves files it opens by path unclosed
        client=client,
        chunk_size=512 * 1024,
        metadata=meta,
        upload_checksum=True,
        **kwargs,
    )


@pytest.fixture
def photo():
    return h.noisy_jpeg((4000, 3000), seed=21, orientation=6)


def _meta(data: bytes, link_id: str = "h-1") -> dict:
    return {
        "sha256": h.sha256(data),
        "filename": "IMG_20240501_102345.jpg",
        "content_type": "image/jpeg",
        "link_kind": "finding",
        "link_id": link_id,
        "item_code": "CS-01",
        "device_time": "2024-05-01T10:24:00+08:00",
    }


def test_interrupted_upload_resumes_after_a_restart(settings, world, hazards, photo, store):
    data = photo
    assert len(data) > 3 * 1024 * 1024
    headers = world["headers"]["inspector"]
    chunk = 512 * 1024
    with live_server(settings) as endpoint:
        first = _uploader(endpoint, headers, data, _meta(data))
        first.upload(stop_at=3 * chunk)  # the network drops after three chunks
        url = first.url
    assert first.offset == 3 * chunk
    port = int(url.split(":")[2].split("/")[0])
    # Another API process on the same address, sharing nothing but MongoDB.
    with live_server(settings, port) as endpoint:
        resumed = _uploader(endpoint, headers, data, _meta(data), url=url)
        assert resumed.offset == 3 * chunk  # from the server's HEAD
        resumed.upload()
        assert resumed.offset == len(data)
    photo, context = Photo.objects.get(id=h.sha256(data)), h.context(h.sha256(data))
    assert context.filename == "IMG_20240501_102345.jpg" and photo.orientation == 6
    assert context.links[0].item_code == "CS-01"
    assert store.read_all(photo.id) == data


def test_the_same_photo_twice_is_stored_once(settings, world, hazards, photo, db):
    data = photo
    headers = world["headers"]["inspector"]
    with live_server(settings) as endpoint:
        _uploader(endpoint, headers, data, _meta(data, "h-1")).upload()
        counts = {c: db[c].count_documents({}) for c in ("media_blobs", "media_chunks")}
        _uploader(endpoint, world["headers"]["inspector2"], data, _meta(data, "h-2")).upload()
    # Nothing of the bytes again: only the second context's watermarked copy.
    stored = {c: db[c].count_documents({}) for c in ("media_blobs", "media_chunks")}
    assert stored == {c: n + 1 for c, n in counts.items()}
    sha = h.sha256(data)
    assert [link.id for link in h.context(sha, world["users"]["inspector"].id).links] == ["h-1"]
    assert [link.id for link in h.context(sha, world["users"]["inspector2"].id).links] == ["h-2"]


def test_tuspy_default_sha1_checksums_work(settings, world, hazards):
    data = h.jpeg()
    with live_server(settings) as endpoint:
        client = TusClient(endpoint, headers=world["headers"]["inspector"])
        Uploader(
            file_stream=io.BytesIO(data),
            client=client,
            chunk_size=1000,
            metadata=_meta(data),
            upload_checksum=True,
        ).upload()
    assert Photo.objects(id=h.sha256(data)).count() == 1
