"""Test photos made with Pillow (phone-like EXIF: orientation, GPS, capture time) and a small
tus client over Flask's test client for protocol-level tests."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import random

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

TUS = {"Tus-Resumable": "1.0.0"}


def exif_block(
    *,
    orientation: int | None = None,
    gps: tuple | None = (31.2304, 121.4737, 12.5),
    taken: str | None = "2024:05:01 10:23:45",
    offset: str | None = "+08:00",
    make: str = "Xiaomi",
    model: str = "Redmi Note 12",
) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    if orientation:
        exif[0x0112] = orientation
    sub = exif.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if gps:
        lat, lng, alt = gps
        g = exif.get_ifd(0x8825)
        g[1], g[2] = ("N" if lat >= 0 else "S"), _dms(abs(lat))
        g[3], g[4] = ("E" if lng >= 0 else "W"), _dms(abs(lng))
        g[5], g[6] = 0, IFDRational(round(alt * 10), 10)
    return exif


def _dms(value: float) -> tuple:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 100))


def marked_image(size=(640, 480)) -> Image.Image:
    """Grey picture with a red block in its top-left corner (to check orientation)."""
    image = Image.new("RGB", size, (128, 128, 128))
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 4, size[1] // 4), fill=(255, 0, 0))
    return image


def jpeg(image: Image.Image | None = None, *, exif: Image.Exif | None = None, **kw) -> bytes:
    out = io.BytesIO()
    image = image or marked_image()
    image.save(out, "JPEG", quality=90, exif=exif if exif is not None else exif_block(**kw))
    return out.getvalue()


@functools.lru_cache(maxsize=16)  # making a 12-MP picture takes a while; bytes are immutable
def noisy_jpeg(size=(4000, 3000), seed: int = 1, quality: int = 88, **exif) -> bytes:
    """A phone-sized photo: gradient plus sensor-like noise (a 12-MP one is ~3-5 MB)."""
    random.seed(seed)
    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 40 + seed % 7).convert("RGB")
    image = Image.blend(base, noise, 0.35)
    ImageDraw.Draw(image).rectangle((0, 0, size[0] // 5, size[1] // 5), fill=(255, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif_block(**exif))
    return out.getvalue()


def png(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    marked_image(size).save(out, "PNG")
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def metadata(**values: str) -> str:
    return ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items() if v is not None
    )


def photo_metadata(data: bytes, link_id: str = "h-1", kind: str = "finding", **extra) -> str:
    return metadata(sha256=sha256(data), link_kind=kind, link_id=link_id, **extra)


def create(client, headers, data: bytes, meta: str | None = None, length: int | None = None):
    return client.post(
        "/api/v1/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(data) if length is None else length),
            "Upload-Metadata": meta if meta is not None else photo_metadata(data),
        },
    )


def patch(client, headers, url: str, offset: int, body: bytes, checksum: str | None = None):
    extra = {"Upload-Checksum": checksum} if checksum else {}
    return client.patch(
        url,
        data=body,
        headers={
            **headers,
            **TUS,
            **extra,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
        },
    )


def upload(client, headers, data: bytes, *, meta: str | None = None, chunk: int = 1 << 20):
    """Create and send in chunks; returns the last response (204, or the refusal)."""
    created = create(client, headers, data, meta)
    assert created.status_code == 201, created.get_data(as_text=True)
    url = created.headers["Location"]
    offset, response = 0, None
    while offset < len(data):
        response = patch(client, headers, url, offset, data[offset : offset + chunk])
        if response.status_code != 204:
            return response
        offset = int(response.headers["Upload-Offset"])
    return response


def b64digest(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm} " + base64.b64encode(hashlib.new(algorithm, data).digest()).decode()


def context(sha: str, uploader_id=None):
    """The one upload context of photo `sha` (of `uploader_id`, when given)."""
    from server.models.photo import PhotoContext

    found = PhotoContext.objects(photo=sha)
    if uploader_id is not None:
        found = found.filter(uploader_id=uploader_id)
    (one,) = found
    return one
