"""The settings every test uses: the servers `make test` started, cheap password hashing."""

from __future__ import annotations

import os

from server.config import Settings

SECRET = "test-secret-key-0123456789abcdef"
#: A fixed Ed25519 seed (base64 of bytes 0..31): the suite's audit signatures are reproducible.
AUDIT_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="


def test_settings() -> Settings | None:
    """Settings for the suite's servers, or None when `make test` did not start any."""
    uri, redis_url = os.environ.get("TEST_MONGODB_URI"), os.environ.get("TEST_REDIS_URL")
    if not uri or not redis_url:
        return None
    return Settings.from_env(
        {},
        mongodb_uri=uri,
        redis_url=redis_url,
        secret_key=SECRET,
        audit_signing_key=AUDIT_KEY,
        log_level="WARNING",
        password_hash_profile="CHEAPEST",
        mongodb_timeout_ms=3000,
        # The tests' webhook receivers listen on this machine.
        webhook_allowed_networks=("127.0.0.0/8",),
    )


test_settings.__test__ = False  # a helper, not a test
