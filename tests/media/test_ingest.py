"""A finished upload becomes a photo: bad input is refused with its own problem and leaves
nothing behind; good photos keep their camera facts, come out upright, and are stored once."""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from media.images import jpeg_end
from server.clock import utcnow
from server.models.inspection import Inspection
from server.models.photo import Photo
from server.models.upload import Upload
from tests.media import helpers as h

EMPTY = {"media_uploads": 0, "media_chunks": 0, "media_blobs": 0, "photos": 0}


def _counts(db) -> dict:
    return {name: db[name].count_documents({}) for name in EMPTY}


def _refused(client, world, db, data: bytes, status: int, slug: str, meta=None) -> dict:
    response = h.upload(client, world["headers"]["inspector"], data, meta=meta)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == f"/problems/{slug}"
    assert _counts(db) == EMPTY  # nothing half-stored: not the upload, not a single chunk
    return body


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG declaring a huge 1-bit image of zeros (compressed ~1000:1)."""
    squash = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(squash.compress(row) for _ in range(height)) + squash.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def gif(size=(32, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("P", size).save(out, "GIF")
    return out.getvalue()


def test_truncated_jpeg_is_corrupt(client, world, hazards, db):
    data = h.noisy_jpeg((1600, 1200))
    body = _refused(client, world, db, data[: len(data) // 2], 422, "corrupt-image")
    assert "decode" in body["detail"]


def test_png_decompression_bomb_is_refused_before_decoding(client, world, hazards, db):
    bomb = png_bomb(20_000, 20_000)  # 400 MP in ~50 KB
    assert len(bomb) < 100_000
    _refused(client, world, db, bomb, 422, "image-too-large")


def test_png_above_the_configured_limit_is_refused(client, world, hazards, db):
    body = _refused(client, world, db, png_bomb(8_000, 7_000), 422, "image-too-large")
    assert body["reasons"] == [{"rule": "max_image_pixels", "limit": 50_000_000}]


def test_gif_is_not_allowed(client, world, hazards, db):
    body = _refused(client, world, db, gif(), 415, "unsupported-image-format")
    assert body["reasons"][0]["format"] == "GIF"


def test_gif_bomb_is_refused_without_decoding(client, world, hazards, db):
    # A logical screen of 65535×65535 pixels: refused by its magic number alone.
    bomb = bytearray(gif())
    bomb[6:10] = struct.pack("<HH", 65535, 65535)
    _refused(client, world, db, bytes(bomb), 415, "unsupported-image-format")


def test_polyglot_jpeg_with_a_zip_appended_is_refused(client, world, hazards, db):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    polyglot = h.jpeg() + archive.getvalue()
    body = _refused(client, world, db, polyglot, 422, "trailing-data")
    assert body["reasons"][0]["rule"] == "no_trailing_data"


def test_png_with_data_after_iend_is_refused(client, world, hazards, db):
    _refused(client, world, db, h.png() + b"PK\x03\x04 hidden", 422, "trailing-data")


def _mpo() -> bytes:
    out = io.BytesIO()
    first, second = h.marked_image(), h.marked_image((320, 240))
    first.save(out, "MPO", save_all=True, append_images=[second], exif=h.exif_block())
    return out.getvalue()


def test_multi_picture_jpeg_is_accepted_and_served_as_jpeg(client, world, hazards):
    # MPF (phones' depth maps, Ultra HDR gain maps): the further images follow the first EOI.
    data = _mpo()
    headers = world["headers"]["inspector"]
    assert h.upload(client, headers, data).status_code == 204
    original = client.get(f"/api/v1/photos/{h.sha256(data)}/original", headers=headers)
    assert original.mimetype == "image/jpeg" and original.data == data


def test_an_mpf_index_cannot_vouch_for_other_data(client, world, hazards, db):
    data = _mpo()
    end = jpeg_end(io.BytesIO(data))[0]
    smuggled = data[:end] + b"PK\x03\x04" + data[end + 4 :]  # declared "image" is no JPEG
    _refused(client, world, db, smuggled, 422, "trailing-data")


def _mpf_app2(first_size: int, second_offset: int, second_size: int) -> bytes:
    """An MPF index (CIPA DC-007) of two images, big-endian, as an APP2 segment; offsets
    count from its TIFF header, 8 bytes after the segment's marker."""
    ifd = struct.pack(">H", 3)
    ifd += struct.pack(">HHI4s", 0xB000, 7, 4, b"0100")  # MPFVersion
    ifd += struct.pack(">HHII", 0xB001, 4, 1, 2)  # NumberOfImages
    ifd += struct.pack(">HHII", 0xB002, 7, 32, 8 + 2 + 3 * 12 + 4)  # MPEntry, after the IFD
    ifd += struct.pack(">I", 0)  # no next IFD
    entries = struct.pack(">IIIHH", 0x20030000, first_size, 0, 0, 0)
    entries += struct.pack(">IIIHH", 0x00000000, second_size, second_offset, 0, 0)
    body = b"MPF\x00" + b"MM\x00\x2a" + struct.pack(">I", 8) + ifd + entries
    return b"\xff\xe2" + struct.pack(">H", 2 + len(body)) + body


def test_an_mpf_image_declared_larger_than_it_is_cannot_hide_a_zip(client, world, hazards, db):
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    payload = archive.getvalue()
    primary, second = h.jpeg(), h.jpeg(h.marked_image((320, 240)))
    app2_size = len(_mpf_app2(0, 0, 0))
    first_size = len(primary) + app2_size
    base = 2 + 8  # the APP2 goes right after SOI; its TIFF header starts 8 bytes in
    # The second image's entry claims the ZIP after it too, and more than the file holds.
    app2 = _mpf_app2(first_size, first_size - base, len(second) + len(payload) + 4096)
    hostile = primary[:2] + app2 + primary[2:] + second + payload
    assert zipfile.ZipFile(io.BytesIO(hostile)).read("payload.html")  # a working polyglot
    assert Image.open(io.BytesIO(hostile)).mpinfo[0xB001] == 2  # and a valid MPF index
    body = _refused(client, world, db, hostile, 422, "trailing-data")
    assert body["reasons"] == [
        {
            "rule": "no_trailing_data",
            "image_end": first_size + len(second),
            "file_size": len(hostile),
        }
    ]
    # The same index with the second image's true size is a genuine multi-picture file.
    app2 = _mpf_app2(first_size, first_size - base, len(second))
    genuine = primary[:2] + app2 + primary[2:] + second
    assert h.upload(client, world["headers"]["inspector"], genuine).status_code == 204


def test_whole_file_hash_mismatch_is_refused(client, world, hazards, db):
    data = h.jpeg()
    meta = h.metadata(sha256=h.sha256(b"other"), link_kind="finding", link_id="h-1")
    body = _refused(client, world, db, data, 422, "sha256-mismatch", meta=meta)
    assert body["reasons"] == [{"rule": "sha256_matches", "declared": h.sha256(b"other")}]


def test_not_an_image_at_all(client, world, hazards, db):
    _refused(client, world, db, b"%PDF-1.7 not a photo", 415, "unsupported-image-format")


def test_animated_webp_is_refused(client, world, hazards, db):
    out = io.BytesIO()
    frames = [h.marked_image((64, 48)), Image.new("RGB", (64, 48))]
    frames[0].save(out, "WEBP", save_all=True, append_images=frames[1:])
    _refused(client, world, db, out.getvalue(), 415, "unsupported-image-format")


def test_garbage_exif_is_cleaned_not_fatal(client, world, hazards):
    exif = h.exif_block(gps=None, taken="2024:13:45 99:99:99\x00", make="Evil\x00Corp")
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(1, 0), IFDRational(0, 0), IFDRational(5, 1))  # NaN
    gps[3], gps[4] = "E", (IFDRational(500, 1), IFDRational(0, 1), IFDRational(0, 1))  # 500°
    exif[0x010E] = "$where.attack\x00\x00"  # ImageDescription
    exif.get_ifd(0x8769)[0x9286] = b"\xff" * 4000  # UserComment: binary junk
    data = h.jpeg(exif=exif)
    headers = world["headers"]["inspector"]
    assert h.upload(client, headers, data).status_code == 204
    photo = h.context(h.sha256(data))
    assert photo.gps is None and photo.captured_local is None and photo.captured_at is None
    assert photo.make == "EvilCorp"
    assert photo.exif["image"]["ImageDescription"] == "$where.attack"
    assert "UserComment" not in photo.exif.get("exif", {})
    assert "GPSLatitude" not in photo.exif.get("gps", {})  # NaN rationals dropped

    def keys(d):
        for k, v in d.items():
            yield k
            if isinstance(v, dict):
                yield from keys(v)

    assert not [k for k in keys(photo.exif) if "." in k or k.startswith("$")]


def test_camera_facts_are_kept(client, world, hazards):
    data = h.jpeg(orientation=1, gps=(31.2304, 121.4737, 12.5))
    headers = world["headers"]["inspector"]
    assert h.upload(client, headers, data).status_code == 204
    photo = h.context(h.sha256(data))
    assert photo.captured_local == "2024:05:01 10:23:45" and photo.captured_offset == "+08:00"
    assert photo.captured_at == datetime(2024, 5, 1, 2, 23, 45, tzinfo=UTC)
    assert photo.gps.latitude == pytest.approx(31.2304, abs=1e-4)
    assert photo.gps.longitude == pytest.approx(121.4737, abs=1e-4)
    assert photo.gps.altitude == pytest.approx(12.5)
    assert (photo.make, photo.model) == ("Xiaomi", "Redmi Note 12")
    assert photo.uploader_id == world["users"]["inspector"].id
    assert photo.enterprise_id == world["enterprise"].id
    assert photo.received_at is not None and photo.skew_flag is False


def test_southern_western_gps_and_missing_offset(client, world, hazards):
    data = h.jpeg(gps=(-33.8688, -70.6693, 500), offset=None)
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    photo = h.context(h.sha256(data))
    assert photo.gps.latitude == pytest.approx(-33.8688, abs=1e-4)
    assert photo.gps.longitude == pytest.approx(-70.6693, abs=1e-4)
    # Without OffsetTimeOriginal the instant is unknown: kept as the camera wrote it only.
    assert photo.captured_local == "2024:05:01 10:23:45" and photo.captured_at is None


def _red_corner(image: Image.Image) -> str:
    w, h_ = image.size
    corners = {
        "top-left": (2, 2),
        "top-right": (w - 3, 2),
        "bottom-left": (2, h_ - 3),
        "bottom-right": (w - 3, h_ - 3),
    }
    red = [
        name for name, xy in corners.items() if image.getpixel(xy)[0] > 200 > image.getpixel(xy)[1]
    ]
    assert len(red) == 1, red
    return red[0]


@pytest.mark.parametrize(
    "orientation,size,corner",
    [
        (1, (320, 240), "top-left"),
        (3, (320, 240), "bottom-right"),
        (6, (240, 320), "top-right"),
        (8, (240, 320), "bottom-left"),
    ],
)
def test_thumbnails_come_out_upright(client, world, hazards, orientation, size, corner):
    # Stored sideways as phones do, with the red block in the sensor's top-left corner.
    data = h.jpeg(h.marked_image((1280, 960)), orientation=orientation)
    headers = world["headers"]["inspector"]
    assert h.upload(client, headers, data).status_code == 204
    sha = h.sha256(data)
    thumb = Image.open(
        io.BytesIO(client.get(f"/api/v1/photos/{sha}/thumbnail", headers=headers).data)
    )
    assert thumb.size == size and thumb.format == "JPEG"
    assert not thumb.getexif()  # derived copies carry no EXIF (no GPS)
    assert _red_corner(thumb) == corner
    review = Image.open(
        io.BytesIO(client.get(f"/api/v1/photos/{sha}/review", headers=headers).data)
    )
    assert review.size == (size[0] * 4, size[1] * 4)
    photo = Photo.objects.get(id=sha)
    assert (photo.width, photo.height, photo.orientation) == (1280, 960, orientation)


def test_a_12_megapixel_photo_in_draft_mode_still_keeps_its_size(client, world, hazards):
    data = h.noisy_jpeg((4000, 3000), orientation=6)
    headers = world["headers"]["inspector"]
    assert h.upload(client, headers, data).status_code == 204
    photo = Photo.objects.get(id=h.sha256(data))
    assert (photo.width, photo.height) == (4000, 3000)
    review = Image.open(
        io.BytesIO(client.get(f"/api/v1/photos/{photo.id}/review", headers=headers).data)
    )
    assert review.size == (1200, 1600)


def test_png_and_webp_are_accepted_with_their_sniffed_type(client, world, hazards):
    headers = world["headers"]["inspector"]
    out = io.BytesIO()
    h.marked_image((200, 100)).save(out, "WEBP")
    for data, content_type in ((h.png((200, 100)), "image/png"), (out.getvalue(), "image/webp")):
        meta = h.photo_metadata(data, content_type="image/gif", filename="x.gif")  # lies
        assert h.upload(client, headers, data, meta=meta).status_code == 204
        assert Photo.objects.get(id=h.sha256(data)).content_type == content_type


def test_same_content_is_stored_once_and_linked_again(client, world, hazards, db):
    """One blob, one thumbnail and one photo record per content; a context (with its own
    watermarked copy) per uploader and object; the same upload again only links."""
    data = h.noisy_jpeg((1600, 1200), seed=4)
    first, second = world["headers"]["inspector"], world["headers"]["inspector2"]
    assert h.upload(client, first, data, meta=h.photo_metadata(data, "h-1")).status_code == 204
    before = _counts(db)
    assert h.upload(client, second, data, meta=h.photo_metadata(data, "h-2")).status_code == 204
    # Same photo to the same object again, and to another item of it: one context.
    assert h.upload(client, second, data, meta=h.photo_metadata(data, "h-2")).status_code == 204
    meta = h.photo_metadata(data, "h-2", item_code="CS-02")
    assert h.upload(client, second, data, meta=meta).status_code == 204
    after = _counts(db)
    assert after["photos"] == 1
    # The original, its thumbnail, and one review copy per context.
    assert (before["media_blobs"], after["media_blobs"]) == (3, 4)
    assert after["media_chunks"] == before["media_chunks"] + 1  # the second context's review
    sha = h.sha256(data)
    one = h.context(sha, world["users"]["inspector"].id)
    two = h.context(sha, world["users"]["inspector2"].id)
    assert Photo.objects.get(id=sha).contexts == [one.id, two.id]
    assert [(link.id, link.item_code) for link in one.links] == [("h-1", None)]
    assert [(link.id, link.item_code) for link in two.links] == [("h-2", None), ("h-2", "CS-02")]
    assert one.review != two.review


def test_a_hash_alone_never_links_an_existing_photo(client, world, hazards, db):
    data = h.jpeg()
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    # Someone who knows the hash but not the bytes cannot claim the photo.
    fake = bytearray(data)
    fake[-10] ^= 0xFF
    meta = h.photo_metadata(data, "h-2")
    response = h.upload(client, world["headers"]["inspector2"], bytes(fake), meta=meta)
    assert response.status_code == 422
    assert response.get_json()["type"] == "/problems/sha256-mismatch"
    assert len(h.context(h.sha256(data)).links) == 1
    assert Photo.objects.get(id=h.sha256(data)).contexts == [h.context(h.sha256(data)).id]


def test_device_clock_skew_is_recorded_and_flagged(client, world, hazards):
    headers = world["headers"]["inspector"]
    for minutes, flagged in ((2, False), (-25, True)):
        data = h.jpeg(taken=f"2024:05:01 10:{30 + minutes:02d}:00")
        device_time = (utcnow() + timedelta(minutes=minutes)).isoformat()
        meta = h.photo_metadata(data, device_time=device_time)
        assert h.upload(client, headers, data, meta=meta).status_code == 204
        photo = h.context(h.sha256(data))
        assert photo.clock_skew_seconds == pytest.approx(minutes * 60, abs=5)
        assert photo.skew_flag is flagged
        assert photo.device_time is not None


def test_capture_time_after_receipt_is_flagged(client, world, hazards):
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y:%m:%d %H:%M:%S")
    data = h.jpeg(taken=future, offset="+00:00")
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    assert h.context(h.sha256(data)).skew_flag is True


def test_capture_long_before_the_inspection_began_is_flagged(client, world):
    # An old photo passed off as evidence of today's visit, like a capture time in the future.
    inspector = world["users"]["inspector"]
    started = utcnow() - timedelta(days=1)
    inspection = Inspection(
        id=str(uuid.uuid4()),
        checklist_code="CS",
        checklist_version=1,
        enterprise_id=world["enterprise"].id,
        jurisdiction_id=world["enterprise"].jurisdiction_id,
        inspector_id=inspector.id,
        device_id="photo-phone",
        started_at_device=started,
    ).save(force_insert=True)
    beijing = timedelta(hours=8)
    for taken, flagged in ((started - timedelta(days=3), True), (started, False)):
        data = h.jpeg(taken=(taken + beijing).strftime("%Y:%m:%d %H:%M:%S"), offset="+08:00")
        meta = h.photo_metadata(data, inspection.id, kind="inspection")
        assert h.upload(client, world["headers"]["inspector"], data, meta=meta).status_code == 204
        assert h.context(h.sha256(data)).skew_flag is flagged


def test_the_upload_record_is_complete_and_empty_afterwards(client, world, hazards):
    data = h.jpeg()
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    upload = Upload.objects.get(sha256=h.sha256(data))
    assert (upload.state, upload.segments, upload.attempts) == ("complete", [], [])
    assert upload.photo_id == h.sha256(data)
