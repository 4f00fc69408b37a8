"""Restore: an archive in mongodump's layout into an empty database, then what the service needs
before it serves again (README, "Backups").

`load` refuses a database that holds any document unless told to drop it, checks every file
against the manifest before it writes anything, then, collection by collection in the reverse
of the backup order (what is named before what names it), creates the collection and its
indexes, inserts the documents in batches, undecoded, and checks the count. Indexes come
first: a unique index then refuses a duplicate at the insert that brings it, and a database
whose restore stopped half-way still carries every invariant; building them afterwards would
be faster on MongoDB for large collections, ours are not large, and the embedded server would
scan each collection once more.

`finish` readies any restored database, whichever tool restored it (`load`, or the stock
`mongorestore` on the way to a replica set): the current code's indexes (as `init-db`), no
leases held by processes of the old server, and the change feed moved on. Moving the feed on
matters because phones hold cursors into the feed of the server the backup came from, which
went on numbering changes after the backup, and hold state it sent them that the restore may
have rolled back. So every synced document is sequenced again, and its new entry is numbered
above a gap of `FEED_GAP` past the restored log: a phone whose cursor is anywhere below the
gap's end (every cursor the old server issued, unless it issued more than `FEED_GAP` numbers
after the backup) pulls the current state of every document in its scope once more, and
tombstones for those deleted or moved away; a cursor beyond that is ahead of the restored
counter and is answered `invalid-cursor`, and the phone pulls from scratch. What no restore can
repair: changes acknowledged after the backup started may be missing (the phone deleted its copy
of the push when it was acknowledged), and a document created after the backup stays on a phone
that pulled it (the restored server has never heard of it, so it sends no tombstone).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from pymongo.database import Database

from server import sequence
from server.backup import archive, order
from server.backup.archive import RAW, ArchiveError, Manifest
from server.db import ensure_indexes
from server.models import DOCUMENTS
from server.models.synced import changed_fields
from sync import sequencer
from sync.collections import REGISTRY

log = logging.getLogger(__name__)

#: Numbers left unused between the restored log and the first entry written after it. A
#: county office's service hands out one per changed document, a few thousand a day, so this
#: covers a backup about a month old; an older one needs `--feed-gap`. Every phone walks the
#: gap once: 200 lookups of 500 numbers (about 25 ms each on the embedded server), ~5 s.
FEED_GAP = 100_000
#: Documents and bytes per insert (the embedded server takes 48 MB per message).
INSERT_DOCUMENTS = 1000
INSERT_BYTES = 16 * 1024 * 1024
#: How long `finish` waits for the sequencer, should the worker hold it.
SEQUENCER_WAIT_S = 60.0


class RestoreError(RuntimeError):
    """The target refuses the restore, or the restored data does not match the archive."""


@dataclass
class Loaded:
    name: str
    documents: int
    bytes: int
    seconds: float


@dataclass
class Finished:
    #: Highest log number restored, and the first number the restored feed hands out.
    restored_top: int
    resumes_at: int
    resequenced: int


def restore(
    db: Database, root: Path, *, drop: bool = False, feed_gap: int = FEED_GAP
) -> tuple[list[Loaded], Finished]:
    """Load the archive at `root` into `db` and ready it to serve."""
    loaded = load(db, root, drop=drop)
    return loaded, finish(db, feed_gap=feed_gap)


def load(db: Database, root: Path, *, drop: bool = False) -> list[Loaded]:
    """Every collection of the archive into `db`, which must hold no document unless `drop`
    (then every collection of `db` is dropped first, not only those in the archive)."""
    root = Path(root)
    directory = archive.database_directory(root)
    # A stock mongodump may hold the server's own collections (system.views): never ours.
    names = [n for n in archive.collections_in(directory) if not n.startswith("system.")]
    _check_files(root, directory, names)
    present = [n for n in db.list_collection_names() if not n.startswith("system.")]
    if drop:
        for name in present:
            db.drop_collection(name)
    else:
        holding = [n for n in present if db[n].find_one({}, {"_id": 1}) is not None]
        if holding:
            raise RestoreError(
                f"database {db.name} is not empty ({', '.join(sorted(holding))}): "
                "restore into an empty one, or drop it with --drop"
            )
    return [_load(db, name, directory) for name in order.restore_order(names)]


def finish(db: Database, *, feed_gap: int = FEED_GAP) -> Finished:
    """What a restored database needs before the service serves it; see the module docstring."""
    ensure_indexes(DOCUMENTS, db)
    sequencer.migrate_counter(db)
    db[sequence.LEASES].delete_many({})
    top = max(sequencer.counter(db), _highest_entry(db))
    sequence.advance(db, sequencer.LOG, top + feed_gap)
    for synced in REGISTRY:
        db[synced.collection].update_many({}, changed_fields())
    sequencer.sweep(db)
    resequenced = sequencer.sequence_pending(db, wait_s=SEQUENCER_WAIT_S)
    if sequencer.has_pending(db):
        log.warning("the sequencer is busy: the worker sequences the rest")
    return Finished(top, top + feed_gap + 1, resequenced)


def _check_files(root: Path, directory: Path, names: list[str]) -> None:
    """Every file as the manifest describes it, before anything is written."""
    manifest = Manifest.read(root)
    if manifest is None:
        log.warning("no manifest: restoring the .bson files as they are", extra={"dir": str(root)})
        return
    listed = {c.name: c for c in manifest.collections}
    if sorted(listed) != names:
        raise ArchiveError(
            f"{root}: the files ({', '.join(names)}) are not those of the manifest "
            f"({', '.join(sorted(listed))})"
        )
    for name in names:
        sha256, size = archive.file_sha256(archive.bson_path(directory, name))
        if (sha256, size) != (listed[name].sha256, listed[name].bytes):
            raise ArchiveError(f"{root}: {name}.bson is damaged (size or SHA-256 differ)")


def _load(db: Database, name: str, directory: Path) -> Loaded:
    clock = time.monotonic()
    meta = archive.read_metadata(archive.metadata_path(directory, name))
    if name not in db.list_collection_names():
        db.create_collection(name, **(meta.get("options") or {}))
    indexes = [
        {k: v for k, v in spec.items() if k not in ("v", "ns")}
        for spec in meta["indexes"]
        if spec.get("name") != "_id_"
    ]
    if indexes:
        db.command({"createIndexes": name, "indexes": indexes})
    raw = db.get_collection(name, codec_options=RAW)
    inserted = size = 0
    batch = []
    for document in archive.read_bson(archive.bson_path(directory, name)):
        batch.append(document)
        size += len(document.raw)
        if len(batch) >= INSERT_DOCUMENTS or size >= INSERT_BYTES:
            raw.insert_many(batch, ordered=True)
            inserted, batch, size = inserted + len(batch), [], 0
    if batch:
        raw.insert_many(batch, ordered=True)
        inserted += len(batch)
    # The insert reply's count is not to be trusted on the embedded server: count again.
    count = raw.count_documents({})
    if count != inserted:
        raise RestoreError(f"{name}: {inserted} documents inserted but {count} stored")
    seconds = time.monotonic() - clock
    total = archive.bson_path(directory, name).stat().st_size
    log.info("collection restored", extra={"collection": name, "documents": count, "s": seconds})
    return Loaded(name, count, total, round(seconds, 3))


def _highest_entry(db: Database) -> int:
    """The highest number in the log (entries above the head are possible: a sequencer that
    died before moving it, or a backup that read the head before the log)."""
    ids = db[sequencer.LOG].find({}, {"_id": 1}).batch_size(10_000)
    return max((d["_id"] for d in ids), default=0)
