"""Settings read once from the environment and validated; shared by the API, the worker and the CLI.

Flask-free on purpose: the RQ worker and the command line use the same settings without
building an app. Defaults are those of the embedded mode (`make run`): loopback servers started
by the project's own scripts.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from dataclasses import dataclass, fields, replace
from urllib.parse import urlparse

from limits import parse as parse_rate_limit


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting of the service; see the configuration table in README.md."""

    mongodb_uri: str = "mongodb://127.0.0.1:27117/safety"
    redis_url: str = "redis://127.0.0.1:6380/0"
    secret_key: str = ""
    #: Base64 of the 32-byte Ed25519 private key (seed) that signs the audit chains' heads.
    audit_signing_key: str = ""
    #: Base64 Ed25519 seeds of the confined-space label keys, comma-separated, the signing
    #: one first; empty: one key derived from AUDIT_SIGNING_KEY (server.services.spaces.labels).
    label_signing_keys: str = ""
    #: The service's address as phones and printed labels reach it (label URLs `/s/<token>`).
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    token_ttl_hours: int = 168
    #: Push receipts are kept this long: a phone replaying a batch whose answer it lost gets
    #: the very same receipts within it (README, "Compaction").
    receipt_horizon_days: int = 30
    login_rate_limit: str = "10 per 15 minutes"
    rq_queue: str = "default"
    mongodb_timeout_ms: int = 5000
    password_hash_profile: str = "RFC_9106_LOW_MEMORY"
    #: Largest photo accepted by the upload endpoint (tus `Tus-Max-Size`), in bytes.
    max_upload_bytes: int = 30 * 1024 * 1024
    #: Largest decoded image, in pixels: the decompression-bomb limit (a 12-MP phone is 12e6).
    max_image_pixels: int = 50_000_000
    #: Unfinished uploads are deleted this long after their last byte arrived.
    upload_expiry_hours: int = 72
    #: Device clock vs server clock beyond this many seconds flags a photo (spoofed clocks).
    clock_skew_seconds: int = 600
    #: Long side of the thumbnail and of the watermarked review copy, in pixels.
    thumbnail_px: int = 320
    review_px: int = 1600
    #: CJK font for the watermark: Debian's fonts-noto-cjk (installed by scripts/bootstrap.sh
    #: and by the Docker image); face 2 of the collection is Simplified Chinese.
    watermark_font: str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
    watermark_font_index: int = 2
    #: Web origins (`scheme://host[:port]`) whose pages may call the API: the WebView and
    #: hybrid apps (e.g. `capacitor://localhost`), comma-separated; empty: no CORS at all.
    cors_origins: tuple[str, ...] = ()
    #: A finding of the same item at the same enterprise within this many days repeats the
    #: earlier hazard (就隐患改隐患: linked to it and counted).
    hazard_repeat_days: int = 365
    #: A scan request's `sent_at` may differ from the server's clock by this many seconds;
    #: its nonce is kept twice as long, so a replay is refused as stale or as seen.
    scan_nonce_window_seconds: int = 120
    #: Public reports (群众举报) one client address may send per window, and the photos of one
    #: report: how many, and the largest in bytes (anonymous uploads are bounded).
    public_report_rate_limit: str = "5 per hour"
    public_report_max_photos: int = 5
    public_report_max_photo_bytes: int = 10 * 1024 * 1024
    #: Non-public networks (CIDR, comma-separated) webhook receivers may be in, e.g. an
    #: intranet's; empty: public addresses only (server.services.webhooks.destination).
    webhook_allowed_networks: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Build settings from environment variables (upper-case field names), then overrides."""
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw, f.type)
        return replace(cls(**values), **overrides).validated()

    def validated(self) -> Settings:
        """Fail early, naming the variable, instead of failing on the first request."""
        if not self.secret_key or len(self.secret_key) < 16:
            raise ConfigError("SECRET_KEY must be set to at least 16 characters")
        self._validate_audit_key()
        self._validate_labels()
        if urlparse(self.mongodb_uri).scheme not in ("mongodb", "mongodb+srv"):
            raise ConfigError(f"MONGODB_URI must be a mongodb:// URI, got {self.mongodb_uri!r}")
        if urlparse(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"REDIS_URL must be a redis:// URL, got {self.redis_url!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be 1-65535, got {self.port}")
        if self.token_ttl_hours <= 0:
            raise ConfigError("TOKEN_TTL_HOURS must be positive")
        if not self.token_ttl_hours <= self.receipt_horizon_days * 24 <= 3650 * 24:
            raise ConfigError(
                "RECEIPT_HORIZON_DAYS must be at most 3650 and cover TOKEN_TTL_HOURS: a phone "
                "must get its receipts back for as long as one login lasts"
            )
        if self.password_hash_profile not in (
            "RFC_9106_LOW_MEMORY",
            "RFC_9106_HIGH_MEMORY",
            "CHEAPEST",
        ):
            raise ConfigError(
                "PASSWORD_HASH_PROFILE must be RFC_9106_LOW_MEMORY, "
                "RFC_9106_HIGH_MEMORY or CHEAPEST (tests only)"
            )
        self._validate_media()
        self._validate_cors()
        self._validate_webhooks()
        if not 1 <= self.hazard_repeat_days <= 3650:
            raise ConfigError("HAZARD_REPEAT_DAYS must be 1-3650")
        if not 5 <= self.scan_nonce_window_seconds <= 3600:
            raise ConfigError("SCAN_NONCE_WINDOW_SECONDS must be 5-3600")
        try:
            parse_rate_limit(self.login_rate_limit)
        except ValueError as exc:
            raise ConfigError(f"LOGIN_RATE_LIMIT is not a rate limit: {exc}") from exc
        try:
            parse_rate_limit(self.public_report_rate_limit)
        except ValueError as exc:
            raise ConfigError(f"PUBLIC_REPORT_RATE_LIMIT is not a rate limit: {exc}") from exc
        if not 0 <= self.public_report_max_photos <= 20:
            raise ConfigError("PUBLIC_REPORT_MAX_PHOTOS must be 0-20")
        if not 0 < self.public_report_max_photo_bytes <= 1024**3:
            raise ConfigError("PUBLIC_REPORT_MAX_PHOTO_BYTES must be 1 to 1073741824")
        return self

    def _validate_audit_key(self) -> None:
        try:
            seed = base64.b64decode(self.audit_signing_key.strip(), validate=True)
        except (binascii.Error, ValueError):
            seed = b""
        if len(seed) != 32:
            raise ConfigError(
                "AUDIT_SIGNING_KEY must be the base64 of a 32-byte Ed25519 private key (seed); "
                "make one with: openssl rand -base64 32"
            )

    def _validate_labels(self) -> None:
        for seed in filter(None, (s.strip() for s in self.label_signing_keys.split(","))):
            try:
                ok = len(base64.b64decode(seed, validate=True)) == 32
            except (binascii.Error, ValueError):
                ok = False
            if not ok:
                raise ConfigError(
                    "LABEL_SIGNING_KEYS must be base64 32-byte Ed25519 seeds, comma-separated"
                )
        if urlparse(self.public_url).scheme not in ("http", "https"):
            raise ConfigError(f"PUBLIC_URL must be an http(s) URL, got {self.public_url!r}")

    def _validate_media(self) -> None:
        if not 0 < self.max_upload_bytes <= 1024**3:
            raise ConfigError("MAX_UPLOAD_BYTES must be 1 byte to 1 GiB")
        # Above Pillow's own threshold (89,478,485 px) Pillow warns before our check runs.
        if not 1_000_000 <= self.max_image_pixels <= 89_478_485:
            raise ConfigError("MAX_IMAGE_PIXELS must be 1000000-89478485")
        if self.upload_expiry_hours <= 0:
            raise ConfigError("UPLOAD_EXPIRY_HOURS must be positive")
        if self.clock_skew_seconds <= 0:
            raise ConfigError("CLOCK_SKEW_SECONDS must be positive")
        if not 64 <= self.thumbnail_px <= self.review_px <= 4096:
            raise ConfigError("need 64 <= THUMBNAIL_PX <= REVIEW_PX <= 4096")
        if not os.path.isfile(self.watermark_font):
            raise ConfigError(
                f"WATERMARK_FONT {self.watermark_font!r} does not exist: install Debian's "
                "fonts-noto-cjk (scripts/bootstrap.sh does) or name another CJK font file"
            )
        if not 0 <= self.watermark_font_index < 64:
            raise ConfigError("WATERMARK_FONT_INDEX must be 0-63")

    def _validate_webhooks(self) -> None:
        for cidr in self.webhook_allowed_networks:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ConfigError(
                    f"WEBHOOK_ALLOWED_NETWORKS: {cidr!r} is not a network (e.g. 10.0.0.0/8)"
                ) from None

    def _validate_cors(self) -> None:
        if "*" in self.cors_origins and len(self.cors_origins) > 1:
            raise ConfigError("CORS_ORIGINS: '*' (any origin) stands alone")
        for origin in self.cors_origins:
            if origin == "*":
                continue
            if not _ORIGIN.match(origin):
                raise ConfigError(f"CORS_ORIGINS: {origin!r} is not an origin (scheme://host)")
            if urlparse(origin).path:
                raise ConfigError(f"CORS_ORIGINS: an origin has no path, got {origin!r}")

    @property
    def mongodb_database(self) -> str:
        """The database named in MONGODB_URI (the path part), 'safety' when it names none."""
        return urlparse(self.mongodb_uri).path.lstrip("/").split("?")[0] or "safety"


#: `scheme://host[:port]`, and for a clear message a path is let through to the next check.
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#\s]+(/\S*)?$")


def _coerce(name: str, raw: str, annotation: str):
    if annotation == "tuple[str, ...]":
        # Browsers send scheme and host in lower case.
        return tuple(item.strip().lower() for item in raw.split(",") if item.strip())
    if annotation == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name.upper()} must be an integer, got {raw!r}") from None
    return raw
