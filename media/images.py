"""Untrusted image bytes → a checked, decoded image and its derived copies.

The rules, in the order they run (each refusal has its own problem type, `media.errors`):
1. Sniff the format from the first bytes, never from the name or the client's content type;
   only JPEG, PNG and WebP are allowed (GIF, HEIC, TIFF, PDF, ZIP... are refused before any
   decoder runs, so a GIF bomb costs nothing). HEIC is left out: its decoder (pillow-heif)
   ships GPL-licensed libraries.
2. Open with Pillow's allow-list (`formats=`); the pixel count is checked against
   `MAX_IMAGE_PIXELS` from the header, before a byte is decoded (decompression bombs).
   Animated PNG/WebP are refused: evidence is a still photo.
3. Trailing data: bytes after the image that its own structure does not account for are
   refused (a JPEG with a ZIP appended is a polyglot). JPEG: after the first image's EOI only
   the further images its MPF index declares (multi-picture / Ultra HDR photos), each up to
   its own EOI, and zero padding may follow. PNG: nothing after IEND. WebP: nothing after
   the RIFF size.
4. Decode completely (`load()`; `verify()` accepts a truncated JPEG). JPEGs decode in draft
   mode at the smallest DCT scale still larger than the review copy: libjpeg still reads
   every entropy-coded byte, so truncation and corruption are caught as in a full decode,
   at a quarter of the pixel work for a 12-MP photo.
5. Derived copies, upright (EXIF orientation applied) and without metadata: the review copy
   (`REVIEW_PX` long side, watermarked by the caller) and the thumbnail made from it.

Memory: a decode holds about 3 bytes per pixel (a 49-MP PNG: 150 MB), so concurrent decodes
share one `PixelBudget` per process, counted in the pixels their headers declare.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

from PIL import Image

from media.errors import (
    CorruptImage,
    DecoderBusy,
    ImageTooLarge,
    TrailingData,
    UnsupportedImageFormat,
)

ALLOWED = ("JPEG", "PNG", "WEBP")
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}

#: Magic numbers of what phones and attackers send; only ALLOWED get past `sniff`.
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")
#: In JPEG entropy-coded data 0xFF is followed only by 0x00 (stuffing) or RSTn: anything else
#: is a marker.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7]")
_ORIENT = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def sniff(head: bytes) -> str:
    """The format named by the first bytes, or 'unknown'."""
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return "unknown"


@dataclass
class Checked:
    """An opened, fully decoded image and what was learnt about it."""

    image: Image.Image  # decoded (JPEG: at the draft scale); `.info`/EXIF from the file
    format: str
    width: int  # of the stored original, not of the draft
    height: int


def check(fp: BinaryIO, size: int, *, max_pixels: int, draft_px: int) -> Checked:
    """Run rules 1-4 on a seekable file of `size` bytes."""
    fp.seek(0)
    kind = sniff(fp.read(16))
    if kind not in ALLOWED:
        raise UnsupportedImageFormat(
            f"{kind} files are not accepted; send JPEG, PNG or WebP",
            reasons=[{"rule": "format_allowed", "format": kind, "allowed": list(ALLOWED)}],
        )
    fp.seek(0)
    try:
        image = Image.open(fp, formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(None, max_pixels) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise CorruptImage(f"the {kind} header does not parse: {exc}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise _too_large(image.size, max_pixels)
    if kind != "JPEG" and getattr(image, "n_frames", 1) > 1:
        raise UnsupportedImageFormat("animated images are not accepted; send a still photo")
    _check_trailing(fp, size, kind, image)
    if kind == "JPEG":
        image.draft("RGB", _draft_size(image.size, draft_px))
    try:
        image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_large(image.size, max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise CorruptImage(f"the {kind} data does not decode completely: {exc}") from None
    return Checked(image=image, format=kind, width=width, height=height)


def declared_pixels(fp: BinaryIO) -> int:
    """Pixels the image's header declares (nothing is decoded); 0 for what `check` refuses
    before decoding (not an allowed format, a header that does not parse)."""
    fp.seek(0)
    kind = sniff(fp.read(16))
    if kind not in ALLOWED:
        return 0
    fp.seek(0)
    try:
        with Image.open(fp, formats=[kind]) as image:
            width, height = image.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        return 0
    except (OSError, SyntaxError, ValueError):
        return 0
    return width * height


class PixelBudget:
    """Decoded pixels the request threads of one process may hold at once.

    `reserve` waits until the pixels fit, at most `timeout` seconds, then raises DecoderBusy
    (503 with Retry-After: the client sends its last PATCH again). An image larger than the
    whole budget waits until it can run alone."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._used = 0
        self._free = threading.Condition()

    @contextmanager
    def reserve(self, pixels: int, *, timeout: float, retry_after: int) -> Iterator[None]:
        need = min(max(pixels, 0), self.capacity)
        with self._free:
            if not self._free.wait_for(lambda: self._used + need <= self.capacity, timeout):
                raise DecoderBusy(
                    "the server is decoding as many photos as its memory allows; send the "
                    f"last PATCH again in {retry_after} seconds",
                    reasons=[{"rule": "decode_budget", "limit": self.capacity, "unit": "pixels"}],
                    retry_after=retry_after,
                )
            self._used += need
        try:
            yield
        finally:
            with self._free:
                self._used -= need
                self._free.notify_all()

    @property
    def used(self) -> int:
        return self._used


@lru_cache(maxsize=4)
def pixel_budget(capacity: int) -> PixelBudget:
    """The process's budget of `capacity` pixels, shared by every thread that asks for it."""
    return PixelBudget(capacity)


def _too_large(size, max_pixels: int) -> ImageTooLarge:
    shown = f"{size[0]}×{size[1]} pixels" if size else "the image"
    return ImageTooLarge(
        f"{shown} is more than the {max_pixels} pixels allowed (decompression bomb guard)",
        reasons=[{"rule": "max_image_pixels", "limit": max_pixels}],
    )


def _draft_size(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    width, height = size
    scale = long_side / max(width, height)
    return max(1, -int(-width * scale // 1)), max(1, -int(-height * scale // 1))


def _check_trailing(fp: BinaryIO, size: int, kind: str, image: Image.Image) -> None:
    if kind == "JPEG":
        layout = jpeg_end(fp)
        if layout is None:
            return  # no EOI at all: the decoder reports the truncation
        end = _mpf_end(fp, image, *layout)
    elif kind == "PNG":
        end = png_end(fp)
        if end is None:
            return
    else:
        fp.seek(4)
        end = 8 + int.from_bytes(fp.read(4), "little")
        end += end % 2  # RIFF chunks are padded to even sizes
    if end < size and not _zeros(fp, end, size):
        raise TrailingData(
            f"{size - end} bytes follow the end of the {kind} image; they are not accepted",
            reasons=[{"rule": "no_trailing_data", "image_end": end, "file_size": size}],
        )


def jpeg_end(fp: BinaryIO, start: int = 0) -> tuple[int, int | None] | None:
    """For the JPEG at `start`: (offset just past its EOI, offset of its MPF index base or
    None), or None when it is no JPEG or has no EOI."""
    fp.seek(start)
    if fp.read(2) != b"\xff\xd8":
        return None
    pos, mpf_base = start + 2, None
    while True:
        fp.seek(pos)
        head = fp.read(8)
        if len(head) < 2 or head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0xD9:
            return pos + 2, mpf_base
        elif 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
        elif len(head) < 4:
            return None
        else:
            if marker == 0xE2 and head[4:8] == b"MPF\x00" and mpf_base is None:
                mpf_base = pos + 8  # MPF offsets count from its TIFF header, after "MPF\0"
            pos += 2 + int.from_bytes(head[2:4], "big")
            if marker == 0xDA:  # start of scan: entropy-coded data up to the next marker
                found = _next_marker(fp, pos)
                if found is None:
                    return None
                pos = found


def _next_marker(fp: BinaryIO, pos: int, window: int = 1 << 20) -> int | None:
    while True:
        fp.seek(pos)
        data = fp.read(window)
        if len(data) < 2:
            return None
        match = _JPEG_MARKER.search(data)
        if match:
            return pos + match.start()
        pos += len(data) - 1  # a 0xFF at the end may start a marker: look at it again


def _mpf_end(fp: BinaryIO, image: Image.Image, end: int, base: int | None) -> int:
    """Where the accounted-for bytes end: after the first image, plus the further images
    its MPF index declares, each a JPEG that ends inside its declared size, with nothing but
    zero padding between them. An entry that is not such a JPEG accounts for nothing, and an
    image accounts for its bytes up to its own EOI only, never for the rest of its declared
    size: a size larger than the image must not vouch for what follows it (a ZIP)."""
    try:
        entries = sorted(
            (base + e["DataOffset"], e["Size"])
            for e in image.mpinfo[0xB002]  # type: ignore[attr-defined]
            if e["DataOffset"]
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return end
    for start, size in entries:
        if start < end or not _zeros(fp, end, start):
            break
        layout = jpeg_end(fp, start)
        if layout is None or layout[0] > start + size:
            break
        end = layout[0]
    return end


def png_end(fp: BinaryIO) -> int | None:
    """Offset just past the IEND chunk, or None."""
    pos = 8
    while True:
        fp.seek(pos)
        head = fp.read(8)
        if len(head) < 8:
            return None
        length = int.from_bytes(head[:4], "big")
        pos += 12 + length
        if head[4:8] == b"IEND":
            return pos


def _zeros(fp: BinaryIO, start: int, end: int) -> bool:
    fp.seek(start)
    while start < end:
        data = fp.read(min(1 << 20, end - start))
        if not data or data.count(0) != len(data):
            return False
        start += len(data)
    return True


def upright_rgb(image: Image.Image, orientation: int | None) -> Image.Image:
    """An RGB copy turned as EXIF orientation says (alpha flattened on white)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    elif image.mode != "RGB":
        try:
            image = image.convert("RGB")
        except ValueError:  # e.g. 16-bit grey: through 8-bit grey
            image = image.convert("L").convert("RGB")
    for method in _ORIENT.get(orientation or 1, []):
        image = image.transpose(method)
    return image


def review_and_thumbnail(
    image: Image.Image, orientation: int | None, *, review_px: int, thumbnail_px: int
) -> tuple[Image.Image, Image.Image]:
    """The review copy (to be watermarked) and the thumbnail, both upright RGB."""
    review = upright_rgb(image, None)  # the decoded image is not needed afterwards: in place
    # The draft is less than twice the review size: at that ratio an area-averaging (box)
    # reduction looks as good as Lanczos for a review copy, at a third of the cost.
    review.thumbnail((review_px, review_px), Image.Resampling.BOX, reducing_gap=3.0)
    review = upright_rgb(review, orientation)
    scale = thumbnail_px / max(review.size)
    size = (max(1, round(review.width * scale)), max(1, round(review.height * scale)))
    # An area average by the whole factor (`reduce`), then a box resize for what is left:
    # at 320 px no sharper filter shows, and it costs a quarter of a bicubic one.
    thumb = review.resize(size, Image.Resampling.BOX, reducing_gap=1.0)
    return review, thumb


def without_metadata(
    data: bytes, *, max_pixels: int, draft_px: int, long_side: int, quality: int
) -> bytes:
    """The photo checked and decoded by rules 1-4, re-encoded upright as a JPEG of at most
    `long_side` pixels that carries no metadata at all (no EXIF, no GPS, no maker notes, no
    comments): for uploads whose bytes must not say who took them, or with which phone."""
    checked = check(io.BytesIO(data), len(data), max_pixels=max_pixels, draft_px=draft_px)
    try:
        orientation = checked.image.getexif().get(0x0112)
    except Exception:  # noqa: BLE001 - unreadable EXIF: as taken (media.exif does the same)
        orientation = None
    image = upright_rgb(checked.image, orientation if orientation in _ORIENT else None)
    image.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
    return jpeg_bytes(image, quality)


def jpeg_bytes(image: Image.Image, quality: int) -> bytes:
    """Baseline JPEG without metadata (derived copies carry no EXIF, hence no GPS)."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()
