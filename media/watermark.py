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


def stamp(image: Image.Image, text_lines: list[str], *, font_path: str, font_index: int) -> None:
    """Print the lines on a darkened band at the bottom left of an RGB image, in place."""
    size = max(12, round(max(image.size) / 64))
    with _RENDER:
        face = font(font_path, font_index, size)
        _draw(image, text_lines, face, size)


def _draw(image: Image.Image, text_lines: list[str], face, size: int) -> None:
    spacing = round(size * 0.35)
    margin = round(size * 0.6)
    widths = [face.getbbox(line)[2] for line in text_lines]
    height = len(text_lines) * (size + spacing) + margin
    box = (
        0,
        max(0, image.height - height - margin),
        min(image.width, max(widths) + 2 * margin),
        image.height,
    )
    # Darken only the band (a lookup table, no full-image alpha composite): readable on any
    # photo and cheap.
    band = image.crop(box).point(lambda v: v * 45 // 100)
    image.paste(band, box[:2])
    draw = ImageDraw.Draw(image)
    y = box[1] + margin
    for line in text_lines:
        draw.text((margin, y), line, font=face, fill=(255, 255, 255))
        y += size + spacing
