"""Backup: one database, collection by collection, through the wire protocol, into an archive in
mongodump's layout (server.backup.archive; README, "Backups").

Without transactions a backup of a running service is consistent in this sense: each document
is read whole by one query, so it is as one single write left it; collections are copied one
after another in the order of server.backup.order, so whatever the archive holds has what it
names; everything acknowledged before the backup started is in it; writes made while it runs
may or may not be.

Nothing is held in memory but one group of documents, on either side. A pass first lists its
collection's `_id`s (a projection: the embedded server, which answers a query with the whole
result at once, then keeps only the ids), then reads the documents a group at a time with `$in`
on `_id`, the one index every server uses. The feed's log is read by number in ascending
windows, as the feed reads it, so its compaction (which adds an entry's audiences to a later
entry before deleting it) cannot slip an audience past the backup.

The archive is written under `DIR.partial` and renamed to `DIR` once complete, so an interrupted
backup never looks like a finished one.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bson.raw_bson import RawBSONDocument
from pymongo.collection import Collection
from pymongo.database import Database

from media.blobstore import CHUNKS
from server import sequence
from server.backup import archive, order
from server.backup.archive import RAW, BsonWriter, CollectionFile, Manifest
from server.clock import utcnow
from sync.sequencer import LOG

log = logging.getLogger(__name__)

#: Ids listed per reply while a pass enumerates its collection.
ID_BATCH = 5000
#: Documents read per `$in`, and per reply: the embedded server fails any reply over 48 MB,
#: and our largest documents (an inspection with 256 KB of answers) stay far below 48 MB / 100.
GROUP = 500
REPLY_DOCUMENTS = 100
#: Collections of large documents, with a smaller group: photo chunks are 1 MiB each.
GROUPS = {CHUNKS: 16}
#: Numbered logs (collection -> its counter), read by number; see the module docstring.
NUMBERED = {LOG: LOG}
#: Log numbers per `$in` when reading a numbered log (holes cost nothing but the lookup).
WINDOW = 500


class BackupError(RuntimeError):
    """The backup cannot be written where it was asked to be."""


@dataclass
class BackupReport:
    path: Path
    manifest: Manifest
    seconds: float

    @property
    def documents(self) -> int:
        return sum(c.documents for c in self.manifest.collections)

    @property
    def bytes(self) -> int:
        return sum(c.bytes for c in self.manifest.collections)


def backup(db: Database, out: Path) -> BackupReport:
    """Copy every collection of `db` into a new archive at `out`."""
    out = Path(out)
    partial = out.with_name(out.name + ".partial")
    if out.exists():
        raise BackupError(f"{out} exists: a backup goes into a new directory")
    if partial.exists():
        raise BackupError(f"{partial} is left from an interrupted backup: remove it first")
    started, clock = utcnow(), time.monotonic()
    feed_start = sequence.value(db, LOG)
    directory = partial / db.name
    directory.mkdir(parents=True)
    infos = {
        i["name"]: i
        for i in db.list_collections()
        if i.get("type", "collection") == "collection" and not i["name"].startswith("system.")
    }
    files = []
    for name in order.backup_order(infos):
        if not order.known(name):
            log.warning("collection has no place in the backup order", extra={"collection": name})
        files.append(_copy(db, name, infos[name], directory))
    version = db.client.server_info().get("version", "unknown")
    manifest = Manifest(
        database=db.name,
        server_version=version,
        started_at=started.isoformat(),
        finished_at=utcnow().isoformat(),
        collections=files,
        feed={"head_at_start": feed_start, "head_at_end": sequence.value(db, LOG)},
    )
    archive.write_prelude(partial, version)
    manifest.write(partial)
    partial.rename(out)
    return BackupReport(out, manifest, time.monotonic() - clock)


def _copy(db: Database, name: str, info: dict, directory: Path) -> CollectionFile:
    clock = time.monotonic()
    raw = db.get_collection(name, codec_options=RAW)
    # Indexes first: the restore creates them before it inserts (server.backup.restore).
    archive.write_metadata(
        archive.metadata_path(directory, name),
        archive.metadata(
            name,
            list(db[name].list_indexes()),
            options=info.get("options"),
            uuid=_uuid_hex(info.get("info", {}).get("uuid")),
        ),
    )
    documents = _numbered(raw, NUMBERED[name], db) if name in NUMBERED else _by_id(raw, name)
    with BsonWriter(archive.bson_path(directory, name)) as out:
        for document in documents:
            out.write(document)
    seconds = time.monotonic() - clock
    log.info(
        "collection backed up",
        extra={"collection": name, "documents": out.documents, "bytes": out.bytes, "s": seconds},
    )
    return CollectionFile(name, out.documents, out.bytes, out.sha256, round(seconds, 3))


def _by_id(raw: Collection, name: str) -> Iterator[RawBSONDocument]:
    """Every document that exists throughout the pass, each read whole by one query."""
    size = GROUPS.get(name, GROUP)
    ids = (d["_id"] for d in raw.find({}, {"_id": 1}).batch_size(ID_BATCH))
    for group in _groups(ids, size):
        yield from raw.find({"_id": {"$in": group}}).batch_size(min(size, REPLY_DOCUMENTS))


def _numbered(raw: Collection, counter: str, db: Database) -> Iterator[RawBSONDocument]:
    """A numbered log in ascending order, up to its head and on while entries follow it."""
    head = sequence.value(db, counter)
    after = 0
    while True:
        numbers = list(range(after + 1, after + WINDOW + 1))
        found = list(raw.find({"_id": {"$in": numbers}}).batch_size(WINDOW))
        yield from sorted(found, key=lambda d: d["_id"])
        after += WINDOW
        if after >= head and not found:
            return


def _groups(items: Iterable, size: int) -> Iterator[list]:
    group = []
    for item in items:
        group.append(item)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def _uuid_hex(value) -> str | None:
    """A collection UUID as mongodump writes it (hex, no dashes)."""
    if value is None:
        return None
    return value.hex if isinstance(value, uuid.UUID) else bytes(value).hex()
