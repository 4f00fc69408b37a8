"""The injectable clock: every rule that depends on time takes `now` from here or from its caller.

Server time is the only order the system trusts; device times are stored beside it, never used
to order anything. A device time is stored as its UTC instant with the device's UTC offset in
minutes beside it (`<field>_offset_min`), since MongoDB keeps instants only.

Every time in a response is written one way (`rfc3339`): UTC, milliseconds (what MongoDB
stores), `Z` — `2026-12-01T09:00:00.123Z`, as JavaScript's `Date.toISOString()` writes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

#: The instants a device time may name: one written with its offset near either end of the
#: calendar has no instant in UTC (year 1 at +10:00 is in year 0), and MongoDB keeps UTC.
DEVICE_TIMES = (datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC))


def utcnow() -> datetime:
    """Current server time, timezone-aware UTC, truncated to milliseconds as MongoDB stores it."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def rfc3339(moment: datetime) -> str:
    """The instant as every response writes it (`2026-12-01T09:00:00.123Z`); a naive datetime
    is taken as UTC, the zone of every time the server stores."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def offset_minutes(moment: datetime | None) -> int | None:
    """The UTC offset a device wrote its time with, in minutes (`+08:00` → 480); None for no
    time or a naive one."""
    offset = moment.utcoffset() if moment is not None else None
    return None if offset is None else round(offset.total_seconds() / 60)
