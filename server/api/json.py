"""JSON for the API, with orjson: several times faster than the standard library on the
large bodies of sync. It writes ObjectIds as strings and datetimes as every response writes
times (server.clock.rfc3339), so raw MongoDB documents (the feed's `data`, a conflict's
`server_copy`) are sent without converting them by hand first.

Bodies are read with a bounded nesting depth (MAX_DEPTH): recursive code further in (the
standard library's parser, marshmallow, error flattening) would otherwise meet Python's
recursion limit on a body a thousand levels deep and answer 500.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask.json.provider import JSONProvider

from server import json_encoding

#: Deepest nesting of arrays and objects a body may have. The deepest legitimate body, a
#: push, nests about 7 levels (batch, mutations, mutation, data, answers, item, photos); 64
#: leaves ample room for new collections and stays far below Python's recursion limit (1000).
MAX_DEPTH = 64


class TooDeep(ValueError):
    """A JSON document nests arrays and objects more than MAX_DEPTH levels deep."""


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """TooDeep when `value` nests arrays and objects more than `limit` levels; level by level,
    so the check itself cannot overflow the stack (~2 ms for a 700 KB push)."""
    level, depth = [value], 1
    while level:
        if depth > limit:
            raise TooDeep(f"the JSON body is nested more than {limit} levels deep")
        below = []
        for node in level:
            for child in node.values() if type(node) is dict else node:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level, depth = below, depth + 1


class OrjsonProvider(JSONProvider):
    """Flask JSON provider backed by orjson (UTF-8 output, no ASCII escaping)."""

    mimetype = "application/json"

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return json_encoding.dumps(obj).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse a document; TooDeep past MAX_DEPTH, orjson's JSONDecodeError if malformed."""
        value = orjson.loads(s)
        if isinstance(value, (dict, list)):
            check_depth(value)
        return value
