"""Connections to MongoDB (mongoengine) and Redis, made from settings; no connection at import.

The worker forks per job, so clients are created by whoever needs them after the fork,
never at import time. Redis may go away at any moment (README, "Redis outages"): clients fail
fast instead of stalling a request in redis-py's default retries, and the worker and the
scheduler wait for it to come back (server.jobs.outage).
"""

from __future__ import annotations

import mongoengine
from pymongo.collection import Collection
from pymongo.database import Database
from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from server.config import Settings

#: Connect and command timeouts of Redis clients, in seconds. A request that needs Redis
#: answers 503 within them rather than hang while it is down.
REDIS_CONNECT_TIMEOUT_S, REDIS_SOCKET_TIMEOUT_S = 2, 5
#: One immediate retry on a fresh connection: enough for a pooled connection that a restart
#: of Redis closed; redis-py's default (3 retries, up to ~14 s of back-off) would hold every
#: request of an API that writes to the outbox while Redis is down.
REDIS_RETRY = Retry(NoBackoff(), 1)


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
    """The Redis client of every process of the service (see the timeouts above)."""
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_CONNECT_TIMEOUT_S,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        retry=REDIS_RETRY,
    )


def redis_up(redis: Redis) -> bool:
    try:
        return bool(redis.ping())
    except RedisError:
        return False


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


def drop_changed_indexes(documents, db: Database) -> list[str]:
    """Drop each index whose keys a document still declares but whose uniqueness changed (an
    index made unique after data was stored under the plain one), so `ensure_indexes` can make
    it as declared; returns the names dropped. Before serving (`init-db`), never while writers
    run: between the drop and the create the invariant is unguarded."""
    dropped = []
    for document in documents:
        collection = db[document._get_collection_name()]
        existing = {
            tuple(info["key"]): (name, bool(info.get("unique")))
            for name, info in collection.index_information().items()
        }
        for spec in document._meta["index_specs"]:
            found = existing.get(tuple(spec["fields"]))
            if found is not None and found[1] != bool(spec.get("unique")):
                collection.drop_index(found[0])
                dropped.append(f"{collection.name}.{found[0]}")
    return dropped
