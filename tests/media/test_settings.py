"""Media settings: defaults, environment overrides, and the checks that fail early."""

from __future__ import annotations

import pytest

from server.config import ConfigError, Settings

KEY = {"SECRET_KEY": "x" * 16, "AUDIT_SIGNING_KEY": "A" * 43 + "="}


def test_media_defaults():
    s = Settings.from_env(KEY)
    assert s.max_upload_bytes == 30 * 1024 * 1024
    assert s.max_image_pixels == 50_000_000
    assert (s.thumbnail_px, s.review_px, s.clock_skew_seconds) == (320, 1600, 600)
    assert s.watermark_font.endswith("NotoSansCJK-Regular.ttc")


def test_media_overrides():
    s = Settings.from_env({**KEY, "MAX_UPLOAD_BYTES": "1000000", "CLOCK_SKEW_SECONDS": "60"})
    assert (s.max_upload_bytes, s.clock_skew_seconds) == (1_000_000, 60)


@pytest.mark.parametrize(
    "env,message",
    [
        ({"MAX_UPLOAD_BYTES": "0"}, "MAX_UPLOAD_BYTES"),
        ({"MAX_IMAGE_PIXELS": "100000000"}, "MAX_IMAGE_PIXELS"),
        ({"UPLOAD_EXPIRY_HOURS": "0"}, "UPLOAD_EXPIRY_HOURS"),
        ({"CLOCK_SKEW_SECONDS": "-1"}, "CLOCK_SKEW_SECONDS"),
        ({"THUMBNAIL_PX": "2000"}, "THUMBNAIL_PX"),
        ({"WATERMARK_FONT": "/nonexistent.ttc"}, "WATERMARK_FONT"),
        ({"WATERMARK_FONT_INDEX": "99"}, "WATERMARK_FONT_INDEX"),
    ],
)
def test_bad_media_settings_fail_naming_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**KEY, **env})
