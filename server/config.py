"""Settings read once from the environment and validated; shared by the API, the worker and the CLI.

Flask-free on purpose: the RQ worker and the command line use the same settings without
building an app. Defaults are those of the embedded mode (`make run`): loopback servers started
by the project's own scripts.
"""

from __future__ import annotations

import os
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
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    token_ttl_hours: int = 168
    login_rate_limit: str = "10 per 15 minutes"
    rq_queue: str = "default"
    mongodb_timeout_ms: int = 5000
    password_hash_profile: str = "RFC_9106_LOW_MEMORY"

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
        if urlparse(self.mongodb_uri).scheme not in ("mongodb", "mongodb+srv"):
            raise ConfigError(f"MONGODB_URI must be a mongodb:// URI, got {self.mongodb_uri!r}")
        if urlparse(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"REDIS_URL must be a redis:// URL, got {self.redis_url!r}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"PORT must be 1-65535, got {self.port}")
        if self.token_ttl_hours <= 0:
            raise ConfigError("TOKEN_TTL_HOURS must be positive")
        if self.password_hash_profile not in (
            "RFC_9106_LOW_MEMORY",
            "RFC_9106_HIGH_MEMORY",
            "CHEAPEST",
        ):
            raise ConfigError(
                "PASSWORD_HASH_PROFILE must be RFC_9106_LOW_MEMORY, "
                "RFC_9106_HIGH_MEMORY or CHEAPEST (tests only)"
            )
        try:
            parse_rate_limit(self.login_rate_limit)
        except ValueError as exc:
            raise ConfigError(f"LOGIN_RATE_LIMIT is not a rate limit: {exc}") from exc
        return self

    @property
    def mongodb_database(self) -> str:
        """The database named in MONGODB_URI (the path part), 'safety' when it names none."""
        return urlparse(self.mongodb_uri).path.lstrip("/").split("?")[0] or "safety"


def _coerce(name: str, raw: str, annotation: str):
    if annotation == "int":
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{name.upper()} must be an integer, got {raw!r}") from None
    return raw
