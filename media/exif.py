"""What the camera says, read defensively from EXIF: capture time, GPS, device, orientation,
and a cleaned copy of the tags that is safe to store in MongoDB.

EXIF is untrusted input written by any phone or any attacker: a value that does not parse (a
zero-denominator rational, a NaN, an out-of-range latitude, text with NUL characters) is
dropped, never guessed, and never fails the upload. Cleaning (for the stored copy): NUL
characters removed, NaN/infinite numbers and binary blobs (MakerNote) dropped, keys that
MongoDB would misread (containing `.` or starting with `$`) dropped, sizes capped.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

from PIL import ExifTags, Image, TiffImagePlugin

log = logging.getLogger(__name__)

#: Capped so a hostile file cannot make the photo record large.
MAX_TAGS_PER_IFD = 200
MAX_TEXT = 256
MAX_SEQUENCE = 32

_DATETIME = "%Y:%m:%d %H:%M:%S"
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
#: Binary tags with no evidential value and arbitrary size.
_SKIPPED_TAGS = {0x927C, 0x9286, 0x02BC, 0x8773, 0x83BB}  # MakerNote, UserComment, XMP, ICC, IPTC
_IFD_POINTERS = {ExifTags.IFD.Exif, ExifTags.IFD.GPSInfo, ExifTags.IFD.Interop}


@dataclass
class Gps:
    latitude: float
    longitude: float
    altitude: float | None = None


@dataclass
class CameraFacts:
    """What the server keeps of the camera's own account."""

    captured_local: str | None = None
    captured_offset: str | None = None
    captured_at: datetime | None = None
    gps: Gps | None = None
    make: str | None = None
    model: str | None = None
    orientation: int | None = None
    clean: dict = field(default_factory=dict)


def read_facts(image: Image.Image) -> CameraFacts:
    """Camera facts of an opened image; an unreadable EXIF block gives empty facts."""
    try:
        exif = image.getexif()
        ifd0 = dict(exif)
        exif_ifd = _ifd(exif, ExifTags.IFD.Exif)
        gps_ifd = _ifd(exif, ExifTags.IFD.GPSInfo)
    except Exception as exc:  # noqa: BLE001 - any parser failure means "no EXIF", not a 500
        log.info("unreadable EXIF ignored", extra={"error": str(exc)[:200]})
        return CameraFacts()
    facts = CameraFacts(
        make=_text(ifd0.get(0x010F)),
        model=_text(ifd0.get(0x0110)),
        orientation=_orientation(ifd0.get(0x0112)),
        gps=_gps(gps_ifd),
        clean={
            "image": _clean_ifd(ifd0, ExifTags.TAGS, skip=_IFD_POINTERS),
            "exif": _clean_ifd(exif_ifd, ExifTags.TAGS),
            "gps": _clean_ifd(gps_ifd, ExifTags.GPSTAGS),
        },
    )
    facts.captured_local, facts.captured_offset, facts.captured_at = _capture_time(exif_ifd)
    facts.clean = {k: v for k, v in facts.clean.items() if v}
    return facts


def _ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # noqa: BLE001 - a broken sub-IFD is dropped alone
        return {}


def _capture_time(exif_ifd: dict) -> tuple[str | None, str | None, datetime | None]:
    """DateTimeOriginal (+ OffsetTimeOriginal): local text, offset, and the UTC instant when
    the offset is known (without it the instant is unknown, not UTC)."""
    local = _text(exif_ifd.get(0x9003))
    try:
        parsed = datetime.strptime(local, _DATETIME) if local else None
    except ValueError:
        parsed = None
    if parsed is None:
        return None, None, None
    offset = _text(exif_ifd.get(0x9011))
    match = _OFFSET.match(offset or "")
    if not match or int(match[2]) > 14 or int(match[3]) > 59:
        return local, None, None
    sign = 1 if match[1] == "+" else -1
    tz = timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
    return local, offset, parsed.replace(tzinfo=tz).astimezone(UTC)


def _gps(gps_ifd: dict) -> Gps | None:
    lat = _degrees(gps_ifd.get(2), _text(gps_ifd.get(1)), "N", "S", 90)
    lng = _degrees(gps_ifd.get(4), _text(gps_ifd.get(3)), "E", "W", 180)
    if lat is None or lng is None:
        return None
    altitude = _number(gps_ifd.get(6))
    if altitude is not None:
        ref = gps_ifd.get(5)
        below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
        altitude = -altitude if below else altitude
        if abs(altitude) > 100_000:  # above the stratosphere is garbage, not a photo
            altitude = None
    return Gps(latitude=lat, longitude=lng, altitude=altitude)


def _degrees(value, ref: str | None, positive: str, negative: str, limit: float) -> float | None:
    if ref not in (positive, negative) or not isinstance(value, tuple) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None or p < 0 for p in parts) or parts[1] >= 60 or parts[2] >= 60:
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    if degrees > limit:
        return None
    return round(-degrees if ref == negative else degrees, 7)


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if math.isfinite(number) else None


def _orientation(value) -> int | None:
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value[:MAX_TEXT] or None


def _clean_ifd(ifd: dict, names: dict, skip=frozenset()) -> dict:
    clean = {}
    for tag, value in list(ifd.items())[:MAX_TAGS_PER_IFD]:
        if not isinstance(tag, int) or tag in skip or tag in _SKIPPED_TAGS:
            continue
        name = names.get(tag) or f"Tag{tag:04X}"
        if "." in name or name.startswith("$"):
            continue
        cleaned = _clean_value(value)
        if cleaned is not None:
            clean[name] = cleaned
    return clean


def _clean_value(value, depth: int = 0):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else None
    if isinstance(value, (float, TiffImagePlugin.IFDRational)):
        return _number(value)
    if isinstance(value, (str, bytes)):
        if isinstance(value, bytes) and (len(value) > MAX_TEXT or not _printable(value)):
            return None
        return _text(value)
    if isinstance(value, (tuple, list)) and depth == 0 and len(value) <= MAX_SEQUENCE:
        items = [_clean_value(v, depth + 1) for v in value]
        return items if items and all(i is not None for i in items) else None
    return None


def _printable(data: bytes) -> bool:
    return all(32 <= b < 127 or b == 0 for b in data)
