"""The injectable clock: every rule that depends on time takes `now` from here or from its caller.

Server time is the only order the system trusts; device times are stored beside it, never used
to order anything.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Current server time, timezone-aware UTC, truncated to milliseconds as MongoDB stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
