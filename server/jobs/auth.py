"""RQ job that keeps the token collection small: dead tokens are deleted after a day."""

from __future__ import annotations

from server.clock import utcnow
from server.services.auth import purge_tokens
from server.services.device_keys import purge_challenges


def purge_dead_tokens() -> int:
    """Delete expired and revoked bearer tokens (kept a day, for the audit of recent logins)
    and expired renewal challenges."""
    now = utcnow()
    return purge_tokens(now=now) + purge_challenges(now=now)
