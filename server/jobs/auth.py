"""RQ job that keeps the token collection small: dead tokens are deleted after a day."""

from __future__ import annotations

from server.clock import utcnow
from server.services.auth import purge_tokens


def purge_dead_tokens() -> int:
    """Delete expired and revoked bearer tokens (kept a day, for the audit of recent logins)."""
    return purge_tokens(now=utcnow())
