"""The review copy's stamp: the right facts, in Chinese, with real CJK glyphs (no tofu)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PIL import Image

from media import watermark
from media.exif import Gps


def facts(**overrides) -> watermark.StampFacts:
    values = dict(
        captured_local="2024:05:01 10:23:45",
        captured_offset="+08:00",
        gps=Gps(31.23041, 121.47371, 12.4),
        enterprise="上海某机械有限公司",
        person_label="检查人员",
        person="张检查",
        received_at=datetime(2024, 5, 1, 3, 0, 5, tzinfo=UTC),
        skew_seconds=None,
        skew_flag=False,
    )
    return watermark.StampFacts(**{**values, **overrides})


def test_lines_name_time_place_enterprise_inspector_and_receipt():
    assert watermark.lines(facts()) == [
        "拍摄时间：2024-05-01 10:23:45 +08:00",
        "拍摄地点：北纬 31.230° 东经 121.474° 海拔 12 米",
        "企业：上海某机械有限公司",
        "检查人员：张检查",
        "服务器接收：2024-05-01 11:00:05（北京时间）",
    ]


def test_missing_facts_and_skew_warning():
    text = watermark.lines(
        facts(
            captured_local=None,
            gps=None,
            enterprise=None,
            skew_seconds=-1500,
            skew_flag=True,
            clock_skewed=True,
        )
    )
    assert text[0] == "拍摄时间：无拍摄时间"
    assert text[1] == "拍摄地点：无定位信息"
    assert text[2] == "企业：—"
    assert text[-1] == "注意：设备时钟与服务器时间相差约 25 分钟"
    future = watermark.lines(facts(skew_seconds=30, skew_flag=True))
    assert future[-1] == "注意：拍摄时间晚于服务器接收时间"


def test_the_font_has_chinese_glyphs(settings):
    face = watermark.font(settings.watermark_font, settings.watermark_font_index, 32)

    def glyph(char: str) -> bytes:
        mask = face.getmask(char)
        return bytes(
            mask.getpixel((x, y)) for y in range(mask.size[1]) for x in range(mask.size[0])
        )

    missing = glyph("\U000f0000")  # a private-use code point: drawn as .notdef (tofu)
    for char in "检查企业拍摄时间北纬":
        assert glyph(char) not in (missing, b""), char


def test_stamp_darkens_the_bottom_left_band_only(settings):
    image = Image.new("RGB", (1600, 1200), (200, 200, 200))
    watermark.stamp(
        image,
        watermark.lines(facts()),
        font_path=settings.watermark_font,
        font_index=settings.watermark_font_index,
    )
    assert image.getpixel((1590, 10)) == (200, 200, 200)
    assert image.getpixel((3, 1196))[0] < 100  # the darkened band
    assert image.getpixel((1590, 1196)) == (200, 200, 200)


@pytest.mark.parametrize("size", [(320, 240), (240, 320), (200, 150), (160, 120)])
def test_the_stamp_fits_small_images(settings, size):
    # The longest stamp there is: every fact present plus the clock warning.
    text = watermark.lines(
        facts(
            gps=Gps(-33.86881, -151.20931, 1234.0),
            enterprise="上海某某精密机械制造有限公司第二分公司",
            skew_seconds=-90_000,
            skew_flag=True,
            clock_skewed=True,
        )
    )
    image = Image.new("RGB", size, (200, 200, 200))
    drawn = watermark.stamp(
        image, text, font_path=settings.watermark_font, font_index=settings.watermark_font_index
    )
    for box in drawn.boxes:
        left, top, right, bottom = box
        assert 0 <= left and 0 <= top and right <= size[0] and bottom <= size[1], (box, size)
    # Nothing dropped: the printed pieces are the lines, wrapped at most.
    assert "".join(drawn.lines).replace(" ", "") == "".join(text).replace(" ", "")
    assert drawn.size >= 7


def test_large_images_keep_one_line_per_fact(settings):
    text = watermark.lines(facts())
    drawn = watermark.stamp(
        Image.new("RGB", (1600, 1200)),
        text,
        font_path=settings.watermark_font,
        font_index=settings.watermark_font_index,
    )
    assert drawn.lines == text and drawn.size == 25
