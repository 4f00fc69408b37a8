"""Which process is working on which upload, so that work of a process (or a request) that
is gone can be taken over at once instead of after a lease of minutes.

Each process that receives or ingests photos is a holder: a `media_holders` document
(`_id` = host:pid:random) that a daemon thread rewrites every BEAT with the keys it is
working on now (the prefixes of PATCHes writing chunks, the ids of uploads being ingested)
and the time of the beat. A piece of work records its holder and the moment it started
(`since`, taken after the key joined the holder's set). It is gone when:
- its holder has not beaten for GONE_AFTER (the process died or hangs), or has no document
  and the work is older than GONE_AFTER (it never beat: died at start), or
- its holder beat after the work started without naming it: the process lives, but the
  request ended without finishing (e.g. MongoDB went away under it).
Both times of the last rule are the holder's own clock, so it needs no clock agreement
between hosts; only GONE_AFTER compares the holder's clock with the reader's.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from pymongo.database import Database

from server.clock import utcnow

log = logging.getLogger(__name__)

HOLDERS = "media_holders"
#: How often a holder rewrites its document.
BEAT = timedelta(seconds=5)
#: A holder silent this long is presumed gone (six missed beats: a loaded host is slow).
GONE_AFTER = timedelta(seconds=30)


class Holder:
    """This process's identity and the keys it is working on; safe to share between threads."""

    def __init__(self, db: Database):
        self.pid = os.getpid()
        self.id = f"{socket.gethostname()}:{self.pid}:{secrets.token_hex(4)}"
        self._collection = db[HOLDERS]
        self._work: dict[str, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextmanager
    def hold(self, key: str) -> Iterator[datetime]:
        """Name `key` in every beat while the block runs; yields the moment to record as the
        work's `since` (taken after the key joined: a later beat that omits it means the
        work is over)."""
        with self._lock:
            self._work[key] = self._work.get(key, 0) + 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="media-holder", daemon=True)
                self._thread.start()
        try:
            yield utcnow()
        finally:
            with self._lock:
                self._work[key] -= 1
                if not self._work[key]:
                    del self._work[key]

    def beat(self) -> None:
        """Write the holder document: the time first, then what is held at that time."""
        at = utcnow()
        with self._lock:
            work = sorted(self._work)
        self._collection.replace_one({"_id": self.id}, {"beat_at": at, "work": work}, upsert=True)

    def _run(self) -> None:
        while True:
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - MongoDB away: try again next beat
                log.warning("holder beat failed", extra={"error": str(exc)[:200]})
            threading.Event().wait(BEAT.total_seconds())


_current: Holder | None = None
_current_lock = threading.Lock()


def current(db: Database) -> Holder:
    """This process's holder (a new one after a fork: the child is another process)."""
    global _current
    with _current_lock:
        if _current is None or _current.pid != os.getpid():
            _current = Holder(db)
        return _current


def holders(db: Database, ids: Iterable[str]) -> dict[str, dict]:
    """The holder documents of these ids (by `_id`), absent ones left out."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    return {doc["_id"]: doc for doc in db[HOLDERS].find({"_id": {"$in": wanted}})}


def gone(found: dict[str, dict], holder: str | None, key: str, since, *, now) -> bool:
    """Is the work `key` of `holder`, started at `since`, over without being finished?"""
    doc = found.get(holder or "")
    if doc is None:
        return since < now - GONE_AFTER
    if doc["beat_at"] < now - GONE_AFTER:
        return True
    return doc["beat_at"] > since and key not in doc["work"]


def forget_silent(db: Database, now: datetime) -> int:
    """Delete the documents of holders silent for a day (processes long gone)."""
    return db[HOLDERS].delete_many({"beat_at": {"$lt": now - timedelta(days=1)}}).deleted_count
