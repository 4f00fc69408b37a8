"""tus 1.0 over HTTP (Flask test client): discovery, creation, offsets, checksums,
termination, expiration, tenancy, and concurrent PATCHes on the real MongoDB-wire server."""

from __future__ import annotations

import dataclasses
import io
import os
import threading
from datetime import timedelta

import pytest
from PIL import Image
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from media import holder, tus
from media.blobstore import CHUNK_SIZE
from media.errors import OffsetMismatch
from media.ingest import resume_stalled_ingests
from media.links import register_link_kind, unregister_link_kind
from server.app import create_app
from server.clock import utcnow
from server.jobs import context as job_context
from server.jobs.media import maintain_uploads
from server.models.photo import Photo
from server.models.upload import COMPLETE, INGESTING, Upload
from tests.media import helpers as h

PROBLEM = "application/problem+json"


def _problem(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert response.headers["Tus-Resumable"] == "1.0.0"
    return body


def _counts(db) -> dict:
    return {
        name: db[name].count_documents({})
        for name in ("media_uploads", "media_chunks", "media_blobs", "photos")
    }


def test_options_advertises_the_server_without_authentication(client, settings):
    response = client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Tus-Extension"] == (
        "creation,creation-with-upload,checksum,termination,expiration"
    )
    assert response.headers["Tus-Max-Size"] == str(settings.max_upload_bytes)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha256,sha1"


def test_create_then_head_reports_offset_and_expiry(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    created = h.create(client, headers, data)
    assert created.status_code == 201
    url = created.headers["Location"]
    assert url.startswith("/api/v1/uploads/")
    assert "Upload-Expires" in created.headers
    head = client.head(url, headers={**headers, **h.TUS})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == "0"
    assert head.headers["Upload-Length"] == str(len(data))
    assert head.headers["Upload-Metadata"] == h.photo_metadata(data)
    assert head.headers["Cache-Control"] == "no-store"


def test_requests_without_tus_version_are_412_naming_the_version(client, world, hazards):
    headers = world["headers"]["inspector"]
    response = client.post("/api/v1/uploads", headers={**headers, "Upload-Length": "10"})
    _problem(response, 412, "unsupported-tus-version")
    assert response.headers["Tus-Version"] == "1.0.0"


def test_authentication_is_required(client, world, hazards):
    response = h.create(client, {}, h.jpeg())
    _problem(response, 401, "unauthenticated")


def test_chunked_upload_with_checksums_makes_a_photo(client, world, hazards, db):
    headers = world["headers"]["inspector"]
    data = h.noisy_jpeg((1600, 1200), seed=2)
    url = h.create(client, headers, data).headers["Location"]
    offset, step = 0, 300_000
    for algorithm in ("sha256", "sha1", "sha256", "sha256", "sha1", "sha256"):
        body = data[offset : offset + step]
        if not body:
            break
        response = h.patch(client, headers, url, offset, body, h.b64digest(body, algorithm))
        assert response.status_code == 204, response.get_data(as_text=True)
        offset = int(response.headers["Upload-Offset"])
    assert offset == len(data)
    assert response.headers["Photo-Id"] == h.sha256(data)
    photo = Photo.objects.get(id=h.sha256(data))
    assert photo.size == len(data) and photo.format == "JPEG"
    assert [(link.kind, link.id) for link in h.context(photo.id).links] == [("finding", "h-1")]
    # The received chunks became the original: written once, not copied.
    assert db["media_blobs"].find_one({"_id": photo.id})["parts"]
    head = client.head(url, headers={**headers, **h.TUS})
    assert head.headers["Upload-Offset"] == str(len(data))


def test_wrong_offset_is_409_and_changes_nothing(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    assert h.patch(client, headers, url, 0, data[:100]).status_code == 204
    body = _problem(h.patch(client, headers, url, 50, data[50:200]), 409, "offset-mismatch")
    assert body["offset"] == 100
    assert client.head(url, headers={**headers, **h.TUS}).headers["Upload-Offset"] == "100"


def test_checksum_mismatch_is_460_and_nothing_is_kept(client, world, hazards, db):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    wrong = h.b64digest(b"something else")
    _problem(h.patch(client, headers, url, 0, data[:500], wrong), 460, "checksum-mismatch")
    assert client.head(url, headers={**headers, **h.TUS}).headers["Upload-Offset"] == "0"
    assert db["media_chunks"].count_documents({}) == 0
    assert Upload.objects.get(id=url.rsplit("/", 1)[1]).attempts == []


def test_unsupported_checksum_algorithm_is_400(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    _problem(h.patch(client, headers, url, 0, data, "md5 AAAA"), 400, "bad-request")


def test_patch_needs_the_tus_content_type(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    response = client.patch(url, data=data, headers={**headers, **h.TUS, "Upload-Offset": "0"})
    _problem(response, 415, "unsupported-media-type")


def test_bytes_past_upload_length_are_413(client, world, hazards, db):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    body = _problem(h.patch(client, headers, url, 0, data + b"more"), 413, "too-large")
    assert (body["title"], body["limit"], body["unit"]) == ("Payload too large", len(data), "bytes")
    assert db["media_chunks"].count_documents({}) == 0


def test_a_server_for_larger_photos_takes_them_in_one_patch(world, hazards, settings, db):
    # 40 MiB photos, sent as tus allows: the whole file in one PATCH, past werkzeug's limit
    # of the default settings.
    limit = 40 * 1024 * 1024
    app = create_app(dataclasses.replace(settings, max_upload_bytes=limit))
    client = app.test_client()
    headers = world["headers"]["inspector"]
    meta = h.photo_metadata(b"a large photo")
    created = h.create(client, headers, b"", meta=meta, length=limit)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = os.urandom(33 * 1024 * 1024)
    response = h.patch(client, headers, created.headers["Location"], 0, body)
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.headers["Upload-Offset"] == str(len(body))


def test_zero_bytes_are_refused_at_creation(client, world, hazards, db):
    response = h.create(client, world["headers"]["inspector"], b"")
    _problem(response, 422, "empty-upload")
    assert _counts(db)["media_uploads"] == 0


def test_too_large_an_upload_is_refused_at_creation(client, world, hazards, settings):
    data = h.jpeg()
    response = h.create(
        client, world["headers"]["inspector"], data, length=settings.max_upload_bytes + 1
    )
    body = _problem(response, 413, "too-large")
    assert (body["limit"], body["unit"]) == (settings.max_upload_bytes, "bytes")


@pytest.mark.parametrize(
    "meta,field",
    [
        (h.metadata(link_kind="finding", link_id="h-1"), "Upload-Metadata.sha256"),
        (
            h.metadata(sha256="ab" * 32, link_kind="Hazard!", link_id="h-1"),
            "Upload-Metadata.link_kind",
        ),
        (
            h.metadata(sha256="ab" * 32, link_kind="finding", link_id="a b"),
            "Upload-Metadata.link_id",
        ),
        (
            h.metadata(sha256="ab" * 32, link_kind="finding", link_id="h-1", device_time="noon"),
            "Upload-Metadata.device_time",
        ),
        (  # fuzzed: in year 0 in UTC, which MongoDB cannot be sent (a 500)
            h.metadata(
                sha256="ab" * 32,
                link_kind="hazard",
                link_id="h-1",
                device_time="0001-01-01T00:01:01+10:16",
            ),
            "Upload-Metadata.device_time",
        ),
        ("sha256 !!notbase64", "Upload-Metadata.sha256"),
    ],
)
def test_bad_metadata_is_422_naming_the_key(client, world, hazards, meta, field):
    response = h.create(client, world["headers"]["inspector"], h.jpeg(), meta)
    body = _problem(response, 422, "rule-violation")
    assert field in [e["field"] for e in body["errors"]]


def test_an_unregistered_link_kind_is_422(client, world):
    data = h.jpeg()
    # A kind nothing registers.
    meta = h.photo_metadata(data, kind="stand_in", link_id="r-1")
    body = _problem(
        h.create(client, world["headers"]["inspector"], data, meta), 422, "unknown-link-kind"
    )
    assert body["reasons"] == [{"rule": "link_kind_registered", "kind": "stand_in"}]


def test_another_tenants_object_is_404(client, world, hazards, db):
    data = h.jpeg()
    meta = h.photo_metadata(data, link_id="x-9")  # the resolver denies it to everyone here
    _problem(h.create(client, world["headers"]["inspector"], data, meta), 404, "not-found")
    # A manager of enterprise B cannot attach evidence to A's hazard either.
    meta = h.photo_metadata(data, link_id="h-1")
    _problem(h.create(client, world["headers"]["manager_b"], data, meta), 404, "not-found")
    assert _counts(db)["media_uploads"] == 0


@pytest.mark.parametrize("role", ["inspector2", "supervisor", "manager", "worker"])
def test_only_the_uploader_and_admins_see_an_upload(client, world, hazards, role):
    data = h.jpeg()
    url = h.create(client, world["headers"]["inspector"], data).headers["Location"]
    other = world["headers"][role]
    assert client.head(url, headers={**other, **h.TUS}).status_code == 404
    _problem(h.patch(client, other, url, 0, data), 404, "not-found")
    _problem(client.delete(url, headers={**other, **h.TUS}), 404, "not-found")
    admin = world["headers"]["admin"]
    assert client.head(url, headers={**admin, **h.TUS}).status_code == 200


def test_termination_deletes_the_upload_and_its_bytes(client, world, hazards, db):
    headers = world["headers"]["inspector"]
    data = h.noisy_jpeg((1200, 900))
    url = h.create(client, headers, data).headers["Location"]
    assert h.patch(client, headers, url, 0, data[:2000]).status_code == 204
    assert db["media_chunks"].count_documents({}) == 1
    assert client.delete(url, headers={**headers, **h.TUS}).status_code == 204
    assert client.head(url, headers={**headers, **h.TUS}).status_code == 404
    assert _counts(db) == {"media_uploads": 0, "media_chunks": 0, "media_blobs": 0, "photos": 0}


def test_another_api_process_continues_the_upload(client, world, hazards, settings):
    """Nothing lives in the process: a second app (as after a restart) resumes."""
    from server.app import create_app

    headers = world["headers"]["inspector"]
    data = h.noisy_jpeg((1600, 1200), seed=5)
    url = h.create(client, headers, data).headers["Location"]
    assert h.patch(client, headers, url, 0, data[: len(data) // 2]).status_code == 204
    other = create_app(settings).test_client()
    offset = int(other.head(url, headers={**headers, **h.TUS}).headers["Upload-Offset"])
    assert offset == len(data) // 2
    assert h.patch(other, headers, url, offset, data[offset:]).status_code == 204
    assert Photo.objects(id=h.sha256(data)).count() == 1


class _SlowBody:
    """A request body that hands over its first piece, then waits for the other PATCH."""

    def __init__(self, data: bytes, barrier: threading.Barrier):
        self.data, self.pos, self.barrier = data, 0, barrier

    def read(self, size: int) -> bytes:
        if self.pos == tus.READ_SIZE:
            self.barrier.wait(timeout=10)
        piece = self.data[self.pos : self.pos + min(size, tus.READ_SIZE - self.pos % tus.READ_SIZE)]
        self.pos += len(piece)
        return piece


def test_concurrent_patches_from_one_offset_commit_exactly_one(world, hazards, settings, store, db):
    inspector = world["users"]["inspector"].actor()
    data = os.urandom(3 * CHUNK_SIZE)  # never completes: any bytes will do
    upload = tus.create_upload(
        inspector,
        length=len(data),
        metadata_header=h.photo_metadata(data),
        now=utcnow(),
        settings=settings,
    )
    # Same offset, different bytes (a confused client): at most one may land, uncorrupted.
    bodies = [data[: 2 * CHUNK_SIZE], bytes(reversed(data[: 2 * CHUNK_SIZE]))]
    barrier = threading.Barrier(2)
    results = []

    def patch(body):
        try:
            tus.append(
                inspector,
                upload.id,
                offset=0,
                read=_SlowBody(body, barrier).read,
                content_length=len(body),
                checksum=None,
                now=utcnow(),
                settings=settings,
                store=store,
            )
            results.append(body)
        except OffsetMismatch:
            results.append("409")

    threads = [threading.Thread(target=patch, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r == "409" for r in results) == [False, True]
    winner = next(r for r in results if r != "409")
    upload.reload()
    assert upload.offset == 2 * CHUNK_SIZE and upload.attempts == []
    assert b"".join(store.read_parts(upload.segments)) == winner
    # The loser's chunks are gone: only the winner's two remain.
    assert db["media_chunks"].count_documents({}) == 2


def test_expiry_deletes_stale_partial_uploads_with_their_bytes(client, world, hazards, db):
    headers = world["headers"]["inspector"]
    stale = h.noisy_jpeg((1200, 900), seed=1)
    url = h.create(client, headers, stale).headers["Location"]
    assert h.patch(client, headers, url, 0, stale[:5000]).status_code == 204
    done = h.jpeg()
    assert h.upload(client, headers, done).status_code == 204
    assert tus.expire_stale_uploads(utcnow()) == 0
    later = utcnow() + timedelta(hours=73)
    assert tus.expire_stale_uploads(later) == 2
    counts = _counts(db)
    assert counts["media_uploads"] == 0 and counts["photos"] == 1
    # What is left is exactly the finished photo's original and its two derived copies.
    assert counts["media_blobs"] == 3
    photo = Photo.objects.get(id=h.sha256(done))
    assert b"".join(tus.BlobStore(db).read(photo.id)) == done


def test_an_expired_upload_answers_404(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    Upload.objects(id=url.rsplit("/", 1)[1]).update_one(set__expires_at=utcnow() - timedelta(1))
    assert client.head(url, headers={**headers, **h.TUS}).status_code == 404


def test_maintenance_job_runs_on_a_real_worker(world, hazards, redis, settings, job_settings, db):
    inspector = world["users"]["inspector"].actor()
    data = h.jpeg()
    upload = tus.create_upload(
        inspector,
        length=len(data),
        metadata_header=h.photo_metadata(data),
        now=utcnow() - timedelta(hours=100),
        settings=settings,
    )
    queue = Queue("media-test", connection=redis, serializer=JSONSerializer)
    job = queue.enqueue(maintain_uploads)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value() == {"discarded": 0, "expired": 1, "resumed": 0}
    assert Upload.objects(id=upload.id).count() == 0


def _died_while_ingesting(actor, data: bytes, settings, store) -> Upload:
    """An upload whose last PATCH's process died while turning it into a photo."""

    def crashing(actor, link_id):
        if Upload.objects(state=INGESTING).count():
            raise RuntimeError("killed")
        return True

    register_link_kind("finding", crashing)
    try:
        upload = tus.create_upload(
            actor,
            length=len(data),
            metadata_header=h.photo_metadata(data),
            now=utcnow(),
            settings=settings,
        )
        with pytest.raises(RuntimeError, match="killed"):
            tus.append(  # chunked transfer: the length is known only at the end
                actor,
                upload.id,
                offset=0,
                read=io.BytesIO(data).read,
                content_length=None,
                checksum=None,
                now=utcnow(),
                settings=settings,
                store=store,
            )
    finally:
        unregister_link_kind("finding")
    return upload.reload()


def test_the_maintenance_job_runs_on_the_worker_settings_not_the_environment(
    world, redis, settings, job_settings, store, monkeypatch
):
    monkeypatch.delenv("SECRET_KEY", raising=False)  # Settings.from_env would refuse to start
    job_context.configure(dataclasses.replace(settings, thumbnail_px=96))
    data = h.jpeg()  # 640 x 480
    _died_while_ingesting(world["users"]["inspector"].actor(), data, settings, store)
    holder.current(Upload._get_db()).beat()  # this process beats on, without naming it
    register_link_kind("finding", lambda actor, link_id: True)
    try:
        queue = Queue("media-test", connection=redis, serializer=JSONSerializer)
        job = queue.enqueue(maintain_uploads)
        SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    finally:
        unregister_link_kind("finding")
    job.refresh()
    assert job.is_finished, job.latest_result()
    assert job.return_value() == {"discarded": 0, "expired": 0, "resumed": 1}
    photo = Photo.objects.get(id=h.sha256(data))
    thumbnail = Image.open(io.BytesIO(b"".join(store.read(photo.thumbnail))))
    assert thumbnail.size == (96, 72)


def test_an_ingest_whose_request_died_is_resumed_at_once(world, settings, store, db):
    data = h.jpeg()
    upload = _died_while_ingesting(world["users"]["inspector"].actor(), data, settings, store)
    assert upload.state == INGESTING and not Photo.objects(id=h.sha256(data)).count()
    me = holder.current(db)
    assert upload.ingest_holder["id"] == me.id
    me.beat()  # the request is over: this living process's next beat no longer names it
    # A process without the hazard owner's wiring leaves it alone (never refuses it).
    assert resume_stalled_ingests(utcnow(), settings=settings, store=store) == 0
    assert upload.reload().state == INGESTING
    register_link_kind("finding", lambda actor, link_id: True)
    try:
        # While a request still names it (here: this process), it is left alone...
        with me.hold(upload.id):
            me.beat()
            assert resume_stalled_ingests(utcnow(), settings=settings, store=store) == 0
        # ...and once it does not, taken over at once: no lease of minutes to wait out.
        me.beat()
        assert resume_stalled_ingests(utcnow(), settings=settings, store=store) == 1
    finally:
        unregister_link_kind("finding")
    assert upload.reload().state == COMPLETE
    assert b"".join(store.read(h.sha256(data))) == data


def test_an_ingest_of_a_process_that_is_gone_is_resumed_at_once(world, settings, store, db):
    data = h.jpeg()
    upload = _died_while_ingesting(world["users"]["inspector"].actor(), data, settings, store)
    now = utcnow()
    # A process that never beat again (killed): its work is gone after GONE_AFTER...
    gone = {"id": "phone-api-7:4242:dead", "since": now - timedelta(seconds=20)}
    Upload.objects(id=upload.id).update_one(set__ingest_holder=gone)
    register_link_kind("finding", lambda actor, link_id: True)
    try:
        assert resume_stalled_ingests(now, settings=settings, store=store) == 0
        later = now + holder.GONE_AFTER
        assert resume_stalled_ingests(later, settings=settings, store=store) == 1
    finally:
        unregister_link_kind("finding")
    assert upload.reload().state == COMPLETE


def test_an_ingest_that_names_no_holder_waits_for_the_lease(world, settings, store):
    data = h.jpeg()
    upload = _died_while_ingesting(world["users"]["inspector"].actor(), data, settings, store)
    Upload.objects(id=upload.id).update_one(unset__ingest_holder=True)  # recorded before
    register_link_kind("finding", lambda actor, link_id: True)
    try:
        assert resume_stalled_ingests(utcnow(), settings=settings, store=store) == 0
        later = utcnow() + timedelta(minutes=6)
        assert resume_stalled_ingests(later, settings=settings, store=store) == 1
    finally:
        unregister_link_kind("finding")


def test_a_failure_before_the_last_commit_acknowledges_nothing(world, settings, store, db):
    inspector = world["users"]["inspector"].actor()
    data = h.jpeg()
    calls = []

    def flaky(actor, link_id):
        calls.append(link_id)
        if len(calls) == 2:  # at creation fine, then fails while the last PATCH is checked
            raise RuntimeError("database hiccup")
        return True

    register_link_kind("finding", flaky)
    try:
        upload = tus.create_upload(
            inspector,
            length=len(data),
            metadata_header=h.photo_metadata(data),
            now=utcnow(),
            settings=settings,
        )
        patch = dict(
            offset=0, content_length=len(data), checksum=None, settings=settings, store=store
        )
        with pytest.raises(RuntimeError):
            tus.append(inspector, upload.id, read=io.BytesIO(data).read, now=utcnow(), **patch)
        assert upload.reload().offset == 0 and db["media_chunks"].count_documents({}) == 0
        tus.append(inspector, upload.id, read=io.BytesIO(data).read, now=utcnow(), **patch)
    finally:
        unregister_link_kind("finding")
    assert upload.reload().state == COMPLETE


def test_a_patch_on_a_finished_upload_says_it_is_finished(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    assert h.patch(client, headers, url, 0, data).status_code == 204
    body = _problem(h.patch(client, headers, url, len(data), b"more"), 409, "offset-mismatch")
    assert body["detail"] == (
        f"the upload is complete: all {len(data)} bytes arrived and are photo "
        f"{h.sha256(data)}; there is nothing more to send"
    )
    assert body["offset"] == len(data)


def test_x_http_method_override_patch_is_a_patch(client, world, hazards):
    # tus 1.0: a server MUST take X-HTTP-Method-Override as the method (tus-js-client's
    # overridePatchMethod, for networks whose proxies drop PATCH).
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    url = h.create(client, headers, data).headers["Location"]
    response = client.post(
        url,
        data=data,
        headers={
            **headers,
            **h.TUS,
            "X-HTTP-Method-Override": "PATCH",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.headers["Photo-Id"] == h.sha256(data)
    gone = client.post(url, headers={**headers, **h.TUS, "X-HTTP-Method-Override": "DELETE"})
    assert gone.status_code == 204


def test_creation_with_upload_stores_the_first_bytes(client, world, hazards, db):
    headers = world["headers"]["inspector"]
    data = h.noisy_jpeg((1200, 900), seed=3)
    first = data[:5000]
    created = client.post(
        "/api/v1/uploads",
        data=first,
        headers={
            **headers,
            **h.TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": h.photo_metadata(data),
            "Content-Type": "application/offset+octet-stream",
            "Upload-Checksum": h.b64digest(first),
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Upload-Offset"] == str(len(first))
    url = created.headers["Location"]
    done = h.patch(client, headers, url, len(first), data[len(first) :])
    assert done.status_code == 204 and done.headers["Photo-Id"] == h.sha256(data)


def test_creation_with_the_whole_photo_makes_it_at_once(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    created = client.post(
        "/api/v1/uploads",
        data=data,
        headers={
            **headers,
            **h.TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": h.photo_metadata(data),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.headers["Upload-Offset"] == str(len(data))
    assert created.headers["Photo-Id"] == h.sha256(data)


def _interrupted_patch(db, store, upload_id: str, start: int, body: bytes) -> str:
    """A PATCH that recorded its attempt and staged its chunks as media.tus does, then lost
    MongoDB before it could commit or clean up (its request failed; the process lives)."""
    me = holder.current(db)
    prefix = f"{upload_id}.interrupted"
    with me.hold(prefix) as since:
        attempt = {"prefix": prefix, "start": start, "holder": me.id, "since": since}
        db["media_uploads"].update_one({"_id": upload_id}, {"$push": {"attempts": attempt}})
        for n in range(0, len(body), CHUNK_SIZE):
            store.stage(prefix, n // CHUNK_SIZE, body[n : n + CHUNK_SIZE], owner=upload_id)
    return prefix


def test_chunks_of_an_interrupted_patch_are_removed_by_maintenance(
    client, world, hazards, db, store, job_settings
):
    headers = world["headers"]["inspector"]
    data = h.noisy_jpeg((1600, 1200), seed=8)
    half = len(data) // 2
    url = h.create(client, headers, data).headers["Location"]
    upload_id = url.rsplit("/", 1)[1]
    assert h.patch(client, headers, url, 0, data[:half]).status_code == 204
    dead = _interrupted_patch(db, store, upload_id, half, data[half:])
    # The phone resumes from the server's offset and finishes; the photo is stored.
    assert h.patch(client, headers, url, half, data[half:]).status_code == 204
    # Meanwhile another upload has a PATCH in progress in this process: never touched.
    other = h.jpeg()
    other_url = h.create(client, headers, other).headers["Location"]
    other_id = other_url.rsplit("/", 1)[1]
    me = holder.current(db)
    with me.hold(f"{other_id}.live") as since:
        live = {"prefix": f"{other_id}.live", "start": 0, "holder": me.id, "since": since}
        db["media_uploads"].update_one({"_id": other_id}, {"$push": {"attempts": live}})
        store.stage(live["prefix"], 0, other[:1000], owner=other_id)
        me.beat()  # names the live attempt, not the interrupted one
        assert db["media_chunks"].count_documents({"_id": f"{dead}:0"}) == 1
        assert maintain_uploads()["discarded"] == 1
        assert db["media_chunks"].count_documents({"_id": {"$regex": f"^{dead}:"}}) == 0
        assert db["media_chunks"].count_documents({"_id": f"{other_id}.live:0"}) == 1
        assert [a["prefix"] for a in Upload.objects.get(id=other_id).attempts] == [live["prefix"]]
    assert Upload.objects.get(id=upload_id).attempts == []
    photo = Photo.objects.get(id=h.sha256(data))
    assert store.read_all(photo.id) == data
    # What is left is exactly the photo's own chunks, its copies' and the live attempt's.
    parts = db["media_blobs"].find_one({"_id": photo.id})["parts"]
    owned = sum(-(-p["size"] // CHUNK_SIZE) for p in parts) + 2 + 1
    assert db["media_chunks"].count_documents({}) == owned
