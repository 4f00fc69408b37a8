"""Several reads by key in one command, for the requests that need a few documents at once
(every bearer token with its user; a scan's space, roster and permits).

The command is an aggregation over a collection of one document (`ROOT`) whose `$lookup`s
fetch each document by a key: `by_key` matches a local value against `_id` or a unique
index, which real MongoDB and the embedded server both answer from the index. One command
instead of one per document halves the driver's CPU (each command costs about as much client
CPU as the server's work) and the round trips. A `$match` as the first stage of an aggregation
over the collection itself would do on MongoDB, but the embedded server scans the whole
collection for it; its `$lookup` uses the unique index.

Keys are set as literals (`$literal`), so a value is never read as a field path.
"""

from __future__ import annotations

from mongoengine.connection import get_db

#: The collection of the one document every keyed read starts from.
ROOT = "_reads"
_ROOT_ID = "root"


def read(values: dict, stages: list[dict]) -> dict:
    """The root document with `values` set and `stages` applied (lookups, mostly)."""
    pipeline = [
        {"$project": {"_id": 1}},
        {"$addFields": {k: {"$literal": v} for k, v in values.items()}},
        *stages,
    ]
    collection = get_db()[ROOT]
    for _ in range(2):
        found = next(collection.aggregate(pipeline), None)
        if found is not None:
            return found
        ensure_root()  # a database that no start-up prepared yet
    raise RuntimeError(f"the {ROOT} collection has no root document")


def ensure_root() -> None:
    """Make the root document (idempotent; `init-db` and the first read call it)."""
    get_db()[ROOT].update_one({"_id": _ROOT_ID}, {"$setOnInsert": {}}, upsert=True)


def by_key(name: str, collection: str, local: str, foreign: str = "_id") -> dict:
    """Set `name` to the documents of `collection` whose `foreign` (unique) equals `local`."""
    return {
        "$lookup": {"from": collection, "localField": local, "foreignField": foreign, "as": name}
    }


def first(name: str, path: str) -> dict:
    """Set `name` to the first value at `path` (a field of a looked-up list), to look up by."""
    return {"$addFields": {name: {"$arrayElemAt": [f"${path}", 0]}}}
