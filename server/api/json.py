"""JSON for the API, with orjson: several times faster than the standard library on the
large bodies of sync, and it writes datetimes as ISO 8601 and ObjectIds as strings, so raw
MongoDB documents can be sent without converting them by hand first."""

from __future__ import annotations

from typing import Any

import orjson
from bson import ObjectId
from flask.json.provider import JSONProvider

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def _default(value: Any):
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class OrjsonProvider(JSONProvider):
    """Flask JSON provider backed by orjson (UTF-8 output, no ASCII escaping)."""

    mimetype = "application/json"

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=_default, option=_OPTIONS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)
