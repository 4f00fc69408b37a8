"""Connections to MongoDB (mongoengine) and Redis, made from settings; no connection at import.

The worker forks per job, so clients are created by whoever needs them after the fork,
never at import time.
"""

from __future__ import annotations

import mongoengine
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


def ensure_indexes(documents) -> None:
    """Create the indexes of the named documents now, before concurrent writers need them.

    Unique indexes carry invariants (one username, one token hash); only they are used for
    lookups by the embedded server, which accepts and ignores the others.
    """
    for document in documents:
        document.ensure_indexes()
