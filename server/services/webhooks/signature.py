"""The Standard Webhooks signature scheme (https://www.standardwebhooks.com, spec v1): a
`whsec_`-prefixed base64 secret; headers `webhook-id`, `webhook-timestamp` (Unix seconds) and
`webhook-signature` = `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, several
space-separated while a secret rotates.

Written here rather than taken from the `standardwebhooks` package: the scheme is these few
lines, and the package would bring an HTTP client and typing stubs the service does not use.
tests/services/test_webhook_signature.py checks it against the specification's example.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
#: The specification asks for 24 to 64 bytes of key; 32 as its own examples.
KEY_BYTES = 32
#: How far a receiver should accept a timestamp from its clock (the specification's advice).
TOLERANCE_S = 5 * 60


def new_secret() -> str:
    """A fresh `whsec_` secret."""
    return PREFIX + base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value of a message."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers that sign `body`."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def verify(secret: str, received: dict[str, str], body: bytes, *, now: int) -> bool:
    """Whether headers `received` (lower-case names) sign `body` with `secret`, within the
    timestamp tolerance: what a receiver does."""
    try:
        msg_id = received["webhook-id"]
        timestamp = int(received["webhook-timestamp"])
        offered = received["webhook-signature"].split()
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > TOLERANCE_S:
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, one) for one in offered)
