"""RQ jobs that keep the authentication collections small: dead tokens are deleted after a
day, login windows counted in MongoDB (while Redis was down) once nothing in them counts."""

from __future__ import annotations

from server.clock import utcnow
from server.services.auth import purge_tokens
from server.services.device_keys import purge_challenges
from server.services.login_throttle import purge_windows


def purge_dead_tokens() -> int:
    """Delete expired and revoked bearer tokens (kept a day, for the audit of recent logins)
    and expired renewal challenges."""
    now = utcnow()
    return purge_tokens(now=now) + purge_challenges(now=now)


def purge_login_windows() -> int:
    """Delete the MongoDB login windows that expired (the embedded server has no TTL index)."""
    return purge_windows(now=utcnow())
