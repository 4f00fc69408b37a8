"""Connections to MongoDB (mongoengine) and Redis, made from settings; no connection at import.

The worker forks per job, so clients are created by whoever needs them after the fork,
never at import time.
"""

from __future__ import annotations

import mongoengine
from pymongo.collection import Collection
from pymongo.database import Database
from redis import Redis

from server.config import Settings


def connect_mongo(settings: Settings) -> None:
    """Register the default mongoengine connection (lazy: the first query connects)."""
    mongoengine.connect(
        host=settings.mongodb_uri,
        db=settings.mongodb_database,
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=settings.mongodb_timeout_ms,
        connect=False,
    )


def redis_client(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)


def ensure_indexes(documents, db: Database | None = None) -> None:
    """Create the indexes of the named documents now, before concurrent writers need them.

    Unique indexes carry invariants (one username, one token hash); only they are used for
    lookups by the embedded server, which accepts and ignores the others. With `db`, on that
    database instead of mongoengine's connection (a restore target the app is not using).
    """
    for document in documents:
        if db is None:
            document.ensure_indexes()
        else:
            _create_declared_indexes(db[document._get_collection_name()], document)


def _create_declared_indexes(collection: Collection, document) -> None:
    """What `Document.ensure_indexes` does, on any collection (our documents declare no
    inheritance, so there is no `_cls` index to add)."""
    if document._meta.get("allow_inheritance"):
        raise TypeError(f"{document.__name__}: documents with inheritance need a _cls index")
    background = document._meta.get("index_background", False)
    for spec in document._meta["index_specs"]:
        options = {**(document._meta.get("index_opts") or {}), **spec}
        fields = options.pop("fields")
        options.pop("cls", None)
        collection.create_index(fields, background=background, **options)
