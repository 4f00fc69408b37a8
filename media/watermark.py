"""The 水印相机-style stamp on review copies: capture time, place, enterprise, inspector and the
server's receive time, in Chinese, in a CJK font the project installs (Debian fonts-noto-cjk,
SIL Open Font License 1.1).

The server's receive time is printed beside the camera's time because watermark apps are
spoofed by setting the phone clock; a large difference is printed as a warning. Places are
printed to 3 decimals (about 100 m): enough to show the photo was taken at the site, while
the exact coordinates stay in the metadata for the roles allowed to see them (see
`server/api/photos.py`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from media.exif import Gps

#: A FreeType face is not safe to render from two threads at once; faces are shared (cached).
_RENDER = threading.Lock()
#: China Standard Time: the time printed for the server's receipt (China has no DST).
CHINA_TIME = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class StampFacts:
    captured_local: str | None
    captured_offset: str | None
    gps: Gps | None
    enterprise: str | None
    person_label: str
    person: str | None
    received_at: datetime
    skew_seconds: float | None
    skew_flag: bool
    #: Why the flag is set: the device clock (True) or a capture time after receipt (False).
    clock_skewed: bool = False


def lines(facts: StampFacts) -> list[str]:
    """The watermark text, one line each."""
    if facts.captured_local:
        when = facts.captured_local.replace(":", "-", 2)
        when += f" {facts.captured_offset}" if facts.captured_offset else "（相机时区未知）"
    else:
        when = "无拍摄时间"
    out = [f"拍摄时间：{when}", f"拍摄地点：{place(facts.gps)}"]
    out.append(f"企业：{facts.enterprise or '—'}")
    out.append(f"{facts.person_label}：{facts.person or '—'}")
    received = facts.received_at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")
    out.append(f"服务器接收：{received}（北京时间）")
    if facts.skew_flag and facts.skew_seconds is not None and facts.clock_skewed:
        minutes = round(abs(facts.skew_seconds) / 60)
        out.append(f"注意：设备时钟与服务器时间相差约 {minutes} 分钟")
    elif facts.skew_flag:
        out.append("注意：拍摄时间晚于服务器接收时间")
    return out


def place(gps: Gps | None) -> str:
    if gps is None:
        return "无定位信息"
    lat = f"{'北纬' if gps.latitude >= 0 else '南纬'} {abs(gps.latitude):.3f}°"
    lng = f"{'东经' if gps.longitude >= 0 else '西经'} {abs(gps.longitude):.3f}°"
    alt = f" 海拔 {gps.altitude:.0f} 米" if gps.altitude is not None else ""
    return f"{lat} {lng}{alt}"


@lru_cache(maxsize=16)
def font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    """The CJK face at a pixel size (cached: opening the collection is the slow part)."""
    return ImageFont.truetype(path, size=size, index=index)


#: Text shrinks to this size before lines are wrapped (still easy to read on a phone).
READABLE_SIZE = 10
#: Wrapped text shrinks no further: below it the glyphs are no longer legible. A stamp that
#: does not fit even so (photos under about 150 px) is cut off at the image's edge.
MIN_SIZE = 7


@dataclass(frozen=True)
class Stamped:
    """What `stamp` printed: the text size, the lines as printed (long ones wrapped) and
    the bounding box of each in image coordinates."""

    size: int
    lines: list[str]
    boxes: list[tuple[int, int, int, int]]


def stamp(image: Image.Image, text_lines: list[str], *, font_path: str, font_index: int) -> Stamped:
    """Print the lines on a darkened band at the bottom left of an RGB image, in place.

    The text is 1/64 of the long side (at least 12 px); on a small image it shrinks to
    READABLE_SIZE, then wraps at the largest size from there down to MIN_SIZE, so that every
    line fits inside the image."""
    nominal = max(12, round(max(image.size) / 64))
    with _RENDER:
        candidates = [(size, False) for size in range(nominal, READABLE_SIZE - 1, -1)]
        candidates += [(size, True) for size in range(nominal, MIN_SIZE - 1, -1)]
        for size, wrap in candidates:
            face = font(font_path, font_index, size)
            printed = _fit(image.size, text_lines, face, size, wrap=wrap)
            if printed is not None:
                break
        else:  # too small an image for legible text: the smallest size, cut off
            printed = [p for line in text_lines for p in _wrap(line, face, image.width)]
        return _draw(image, printed, face, size)


def _spacing(size: int) -> tuple[int, int]:
    """(space between lines, margin around the text) at a text size."""
    return round(size * 0.35), round(size * 0.6)


def _fit(image_size, text_lines, face, size: int, *, wrap: bool) -> list[str] | None:
    """The lines as printed at this size, or None when they do not fit the image."""
    width, height = image_size
    spacing, margin = _spacing(size)
    room = width - 2 * margin
    if wrap:
        printed = [piece for line in text_lines for piece in _wrap(line, face, room)]
    else:
        printed = list(text_lines)
    if max(_width(face, line) for line in printed) > room:
        return None
    bottom = (len(printed) - 1) * (size + spacing) + face.getbbox(printed[-1])[3]
    return printed if bottom + 2 * margin <= height else None


def _width(face, line: str) -> int:
    return max(face.getbbox(line)[2], round(face.getlength(line)))


def _wrap(line: str, face, room: int) -> list[str]:
    """Greedy wrap to `room` pixels, at a space when there is one (CJK text breaks
    between any two characters)."""
    pieces = []
    while _width(face, line) > room:
        lo, hi = 1, len(line)  # the longest prefix that fits: at least one character
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if _width(face, line[:mid]) <= room else (lo, mid - 1)
        cut = line.rfind(" ", 1, lo + 1)
        cut = cut if cut > 0 else lo
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
        if not line:
            return pieces
    return [*pieces, line]


def _draw(image: Image.Image, text_lines: list[str], face, size: int) -> Stamped:
    spacing, margin = _spacing(size)
    widths = [_width(face, line) for line in text_lines]
    bottom = (len(text_lines) - 1) * (size + spacing) + face.getbbox(text_lines[-1])[3]
    box = (
        0,
        max(0, image.height - bottom - 2 * margin),
        min(image.width, max(widths) + 2 * margin),
        image.height,
    )
    # Darken only the band (a lookup table, no full-image alpha composite): readable on any
    # photo and cheap.
    band = image.crop(box).point(lambda v: v * 45 // 100)
    image.paste(band, box[:2])
    draw = ImageDraw.Draw(image)
    y = box[1] + margin
    boxes = []
    for line in text_lines:
        draw.text((margin, y), line, font=face, fill=(255, 255, 255))
        boxes.append(draw.textbbox((margin, y), line, font=face))
        y += size + spacing
    return Stamped(size=size, lines=list(text_lines), boxes=boxes)
