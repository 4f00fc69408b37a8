"""The settings every test uses: the servers `make test` started, cheap password hashing."""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

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


def for_worker(environ: dict[str, str], worker: str) -> dict[str, str]:
    """TEST_MONGODB_URI / TEST_REDIS_URL of one pytest-xdist worker ("gw0", "gw1", …): its own
    database on the shared MongoDB-wire server (`safety_test_gw0`) and its own Redis logical db
    (the worker's number), so that each worker's wipes and flushes leave the others' data alone.
    Set in the worker's environment, they reach the processes its tests start as well."""
    number = int(re.fullmatch(r"gw(\d+)", worker).group(1))
    if number > 15:  # redis-server's default 16 logical dbs
        raise RuntimeError(f"worker {worker}: at most 16 xdist workers share the suite's Redis")
    mongo = urlsplit(environ["TEST_MONGODB_URI"])
    database = mongo.path.lstrip("/") or "safety"
    redis = urlsplit(environ["TEST_REDIS_URL"])
    return {
        "TEST_MONGODB_URI": urlunsplit(mongo._replace(path=f"/{database}_{worker}")),
        "TEST_REDIS_URL": urlunsplit(redis._replace(path=f"/{number}")),
    }
