"""Canonical JSON: the one byte encoding of an audit event (and of a signed head) that is hashed
and signed, shared by the writer and the verifier so that they cannot disagree.

Rules: objects with string keys sorted by code point, no whitespace, UTF-8 (not `\\u` escapes),
no NaN or infinity; datetimes as RFC 3339 UTC with milliseconds (`2026-12-01T09:10:40.123Z`,
the precision MongoDB stores). Only JSON types and datetimes are accepted: ObjectIds and other
database types are turned into strings by `server.services.audit.event` before they get here.
Pure standard library, so the verifier needs nothing else.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

#: Fields of a stored event that are not part of what its hash covers.
UNHASHED = ("_id", "hash")


def timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds (truncated, as BSON dates are); naive means UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (
        moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat(
            timespec="milliseconds"
        )
        + "Z"
    )


def plain(value):
    """`value` as plain JSON values (datetimes become timestamps); TypeError for anything else."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be strings, got {key!r}")
            out[key] = plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def dumps(value) -> bytes:
    """The canonical encoding of `value`."""
    return json.dumps(
        plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(value) -> str:
    """SHA-256 (hex) of the canonical encoding of `value`."""
    return hashlib.sha256(dumps(value)).hexdigest()


def hashed_part(event: dict) -> dict:
    """What an event's hash covers: every field but `_id` and `hash` (chain, n and prev too)."""
    return {k: v for k, v in event.items() if k not in UNHASHED}


def event_hash(event: dict) -> str:
    """The hash of an event (stored, or read back from an export line)."""
    return sha256_hex(hashed_part(event))


def event_line(event: dict) -> str:
    """An event as one line of an export: its hashed part plus `hash`, canonically encoded."""
    return dumps({k: v for k, v in event.items() if k != "_id"}).decode("utf-8")
