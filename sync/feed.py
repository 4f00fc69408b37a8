"""Pull: a user's change feed over every synced collection, read with an opaque cursor.

The feed is the global, gapless log written by the sequencer (sync.sequencer), filtered per
reader: an entry whose audience includes the reader is an upsert (or a tombstone when the
document was deleted); an entry one of whose *previous* audiences included the reader but whose
new one does not is a tombstone too (the object left their scope). Compaction
(sync.compaction) removes superseded entries, carrying their audiences forward to the
surviving one, so the walk simply steps over the missing numbers. The phone receives a whole
state of each document, never a diff, so re-reading a page, or reading a change twice, is
harmless.

The cursor is the last log number examined; every number up to the sequencer's counter was
written to the log, and one is removed only once a later entry of the same document says all
it said, so advancing the cursor can never step over a change.

Each entry carries the document's phone copy as the sequencer read it, already encoded, in
every view (sync.collections): a page sends those bytes as they are, without reading, decoding
and re-encoding the documents (most of a first pull's time). The walk reads entries without
their copies, then fetches the copies of the entries it picked, so that a reader who sees a
sliver of the log does not pay for everyone else's documents; while most entries are the
reader's, it reads them with their copies in one query instead. A copy is a committed state
of the document, and any later write gets a later entry, so a reader who walks to the head
ends with every document's current state. Entries written before copies were stored, or
under an older edition of the rules that shape them, are answered from the documents.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import defaultdict
from dataclasses import dataclass

import orjson
from pymongo.database import Database

from server import json_encoding
from server.actor import Actor
from server.errors import DomainError
from sync.collections import BY_COLLECTION, REGISTRY
from sync.sequencer import copies_of, counter, entries_between, previous_scopes, sequence_pending

#: Log entries fetched per query while scanning (a `$in` on `_id`: indexed on every server).
WINDOW = 500
#: Most log entries one pull examines, however few of them the reader may see.
MAX_SCAN = 20_000
#: Most log numbers one pull walks: after compaction most are holes, which cost an index
#: lookup each but no document (about 1 ms per window on the embedded server).
MAX_WALK = 10 * MAX_SCAN
DEFAULT_LIMIT = 500
MAX_LIMIT = 2000


class InvalidCursor(DomainError):
    status = 400
    title = "Invalid cursor"
    type_slug = "invalid-cursor"


@dataclass(frozen=True)
class PullPage:
    #: `{collection, id, seq, op}`, and `data` for an upsert: the phone's copy, encoded JSON
    #: (an `orjson.Fragment`, which the API's encoder writes as it is).
    changes: list[dict]
    cursor: str
    has_more: bool
    #: The log number the server had sequenced up to when this page was read.
    high_water: int

    def decoded(self) -> list[dict]:
        """The changes as a phone reads them, copies decoded."""
        return orjson.loads(json_encoding.dumps(self.changes))


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The log number in a cursor (0 for none); InvalidCursor when it is not one of ours."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, seq = text.partition(":")
        if version != "v1" or not re.fullmatch(r"[0-9]{1,18}", seq):
            raise ValueError(text)
        return int(seq)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("the cursor is not one this server issued; pull without one") from None


def pull(db: Database, actor: Actor, *, cursor: str | None, limit: int = DEFAULT_LIMIT) -> PullPage:
    """The next page of `actor`'s changes after `cursor`."""
    after = decode_cursor(cursor)
    sequence_pending(db)
    high = counter(db)
    if after > high:
        raise InvalidCursor("the cursor is ahead of this server (restored data?); pull without one")
    picked, scanned_to = _scan(db, actor, after, high, limit)
    changes = _materialize(db, actor, picked)
    return PullPage(changes, encode_cursor(scanned_to), scanned_to < high, high)


def _scan(db: Database, actor: Actor, after: int, high: int, limit: int):
    """Walk the log from `after`; keep the last entry per document the reader is concerned by,
    with its phone copy when the window was read with copies (see `_dense`)."""
    keys = _copy_keys(actor)
    picked: dict[tuple[str, object], tuple[int, bool, bytes | None]] = {}
    scanned_to, examined, dense = after, 0, True
    while (
        scanned_to < high
        and len(picked) < limit
        and examined < MAX_SCAN
        and scanned_to - after < MAX_WALK
    ):
        top = min(scanned_to + WINDOW, high)
        entries = entries_between(db, scanned_to, top, copies=set(keys.values()) if dense else None)
        examined += len(entries)
        full, kept = False, 0
        for entry in entries:
            synced = BY_COLLECTION.get(entry["c"])
            if synced is not None:
                if synced.visible(actor, entry["s"]):
                    alive = not entry.get("x")
                elif any(synced.visible(actor, p) for p in previous_scopes(entry)):
                    alive = False  # left the reader's scope
                else:
                    alive = None
                if alive is not None:
                    kept += 1
                    key = (entry["c"], entry["d"])
                    copy = (entry.get("v") or {}).get(keys[entry["c"]]) if alive else None
                    picked.pop(key, None)  # re-insert: order follows the latest entry
                    picked[key] = (entry["_id"], alive, copy)
            scanned_to = entry["_id"]
            if len(picked) >= limit:
                full = True
                break
        if not full:
            scanned_to = top  # numbers missing from the log were compacted away
        if entries:
            dense = _dense(kept, len(entries))
    return picked, scanned_to


def _dense(kept: int, examined: int) -> bool:
    """Read the next window with its copies? Yes while most of what the walk meets is the
    reader's: one query then brings entries and copies (a first pull of one's own district).
    Otherwise the copies of the few picked entries are fetched afterwards, and a reader who
    sees a sliver of the log does not pay for everyone else's documents."""
    return kept * 2 >= examined


def _copy_keys(actor: Actor) -> dict[str, str]:
    """Where the copy `actor` reads of each synced collection is kept in a feed entry."""
    return {synced.collection: synced.copy_key_of(actor) for synced in REGISTRY}


def _materialize(db: Database, actor: Actor, picked: dict) -> list[dict]:
    """The stored phone copy of each picked entry, or a tombstone."""
    copies = {seq: copy for seq, _alive, copy in picked.values() if copy is not None}
    wanting = [seq for seq, alive, copy in picked.values() if alive and copy is None]
    copies.update(copies_of(db, wanting, _copy_keys(actor)))
    current = _current(db, actor, picked, copies)
    changes = []
    for (collection, doc_id), (seq, alive, _copy) in picked.items():
        synced = BY_COLLECTION[collection]
        copy = (copies.get(seq) or current.get((collection, doc_id))) if alive else None
        change = {"collection": synced.name, "id": str(doc_id), "seq": seq}
        if copy is None:
            change["op"] = "delete"
        else:
            change["op"] = "upsert"
            change["data"] = orjson.Fragment(copy)
        changes.append(change)
    return changes


def _current(db: Database, actor: Actor, picked: dict, copies: dict) -> dict:
    """The copies of picked documents whose entry has none to give (written before entries
    carried copies, or under older rules), read from the documents as they are now."""
    wanted = defaultdict(list)
    for (collection, doc_id), (seq, alive, _copy) in picked.items():
        if alive and seq not in copies:
            wanted[collection].append(doc_id)
    current = {}
    for collection, ids in wanted.items():
        synced = BY_COLLECTION[collection]
        found = db[collection].find({"_id": {"$in": ids}}, synced.projection)
        for doc in found.batch_size(len(ids)):
            if doc.get("deleted_at") is None and synced.visible(actor, synced.scope(doc)):
                # (else deleted or moved away since the entry: a later entry says so too)
                current[(collection, doc["_id"])] = json_encoding.dumps(synced.to_phone(doc, actor))
    return current
