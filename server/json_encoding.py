"""How the server writes JSON, everywhere a phone or client reads it: orjson, ObjectIds as
strings, datetimes as every response writes times (server.clock.rfc3339).

Flask-free, so the feed can store a document's phone copy already encoded (sync.sequencer)
in exactly the bytes an API response would carry (server.api.json).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from bson import ObjectId

from server.clock import rfc3339

# orjson's own datetimes vary (microseconds only when non-zero, no offset when naive): ours
# go through _default.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _default(value: Any):
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON; `orjson.Fragment`s inside are written as they are."""
    return orjson.dumps(value, default=_default, option=_OPTIONS)
