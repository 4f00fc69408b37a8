"""Concurrent decodes share one budget of pixels per process: the last PATCHes of photos
that do not fit together wait their turn (or answer 503 with Retry-After, keeping nothing)."""

from __future__ import annotations

import dataclasses
import io
import threading
import time

from media import images, ingest, links, tus
from server.app import create_app
from server.clock import utcnow
from server.models.photo import Photo
from server.models.upload import RECEIVING, Upload
from tests.media import helpers as h

#: The smallest MAX_IMAGE_PIXELS the settings allow: a 1000×1000 picture fills the budget.
PIXELS = 1_000_000


def _photos(n: int) -> list[bytes]:
    return [h.png((1000, 1000 - i)) for i in range(n)]  # distinct content, each ~1 MP


def test_decodes_that_do_not_fit_together_run_one_at_a_time(world, settings, store):
    small = dataclasses.replace(settings, max_image_pixels=PIXELS)
    inspector = world["users"]["inspector"].actor()
    photos = _photos(4)
    entered, most, lock, started = [0], [0], threading.Lock(), threading.Event()

    def resolve(actor, link_id):  # the first step of an ingest (and of a creation)
        if started.is_set():
            with lock:
                entered[0] += 1
                # Ingests inside now: those that began minus those whose photo is stored (an
                # ingest's last write; its arrival hooks run later, from the outbox).
                most[0] = max(most[0], entered[0] - Photo.objects.count())
            time.sleep(0.2)  # long enough for the others to be inside too, if they may
        return True

    links.register_link_kind("finding", resolve)
    try:
        uploads = [
            tus.create_upload(
                inspector,
                length=len(data),
                metadata_header=h.photo_metadata(data),
                now=utcnow(),
                settings=small,
            )
            for data in photos
        ]
        started.set()
        errors = []

        def patch(upload, data):
            try:
                tus.append(
                    inspector,
                    upload.id,
                    offset=0,
                    read=io.BytesIO(data).read,
                    content_length=len(data),
                    checksum=None,
                    now=utcnow(),
                    settings=small,
                    store=store,
                )
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [
            threading.Thread(target=patch, args=pair) for pair in zip(uploads, photos, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    finally:
        links.unregister_link_kind("finding")
    assert errors == []
    assert most[0] == 1  # never two of them decoding at once
    assert Photo.objects.count() == 4
    assert images.pixel_budget(PIXELS).used == 0  # every reservation was given back


def test_a_full_budget_answers_503_with_retry_after_and_keeps_nothing(
    world, hazards, settings, db, monkeypatch
):
    small = dataclasses.replace(settings, max_image_pixels=PIXELS)
    client = create_app(small).test_client()
    headers = world["headers"]["inspector"]
    data = _photos(1)[0]
    url = h.create(client, headers, data).headers["Location"]
    monkeypatch.setattr(ingest, "DECODE_WAIT_SECONDS", 0.2)
    with images.pixel_budget(PIXELS).reserve(PIXELS, timeout=1, retry_after=1):
        busy = h.patch(client, headers, url, 0, data)
    assert busy.status_code == 503, busy.get_data(as_text=True)
    assert busy.headers["Retry-After"] == str(ingest.DECODE_RETRY_AFTER)
    body = busy.get_json()
    assert body["type"] == "/problems/decoder-busy"
    assert body["reasons"] == [{"rule": "decode_budget", "limit": PIXELS, "unit": "pixels"}]
    upload = Upload.objects.get(id=url.rsplit("/", 1)[1])
    assert (upload.state, upload.offset, upload.attempts) == (RECEIVING, 0, [])
    assert db["media_chunks"].count_documents({}) == 0
    again = h.patch(client, headers, url, 0, data)  # the same PATCH, once there is room
    assert again.status_code == 204 and again.headers["Photo-Id"] == h.sha256(data)
