"""The archive on disk, in mongodump's directory layout so that the stock `mongorestore` reads it:

    DIR/prelude.json                      {"ServerVersion", "ToolVersion"}, as mongodump >= 100.12
    DIR/backup.json                       this tool's manifest: order, counts, sizes, SHA-256
    DIR/<db>/<collection>.bson            every document's BSON as stored, one after another
    DIR/<db>/<collection>.metadata.json   canonical Extended JSON, as mongodump 100.x writes it:
                                          {"indexes": [...], "uuid", "collectionName", "type"}

Documents are read as raw BSON and written without being decoded, so every byte survives (key
order, int32 against int64, binary subtypes, dates to the millisecond). `indexes` is what
`listIndexes` answers, in its order; `options` and `uuid` appear only when the server reports
them (the embedded server reports neither). File names escape collection names as mongodump
does (Go's `url.QueryEscape`, the same as `quote_plus`). mongorestore reads prelude.json and
skips backup.json with a notice.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import quote_plus, unquote_plus

from bson import json_util
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

PRELUDE = "prelude.json"
MANIFEST = "backup.json"
BSON_SUFFIX = ".bson"
METADATA_SUFFIX = ".metadata.json"
#: What prelude.json and the manifest name as the writer.
TOOL = "safety-inspection backup 1"
#: Documents travel undecoded, in both directions.
RAW = CodecOptions(document_class=RawBSONDocument)
#: Largest document a `.bson` file may hold: MongoDB's 16 MiB plus the 16 KiB it allows
#: internally; anything larger is a damaged file, not a document.
MAX_DOCUMENT = 16 * 1024 * 1024 + 16 * 1024
_READ = 1024 * 1024


class ArchiveError(ValueError):
    """The directory is not a complete, undamaged archive."""


@dataclass
class CollectionFile:
    """One collection as the manifest describes its `.bson` file."""

    name: str
    documents: int
    bytes: int
    sha256: str
    seconds: float = 0.0


@dataclass
class Manifest:
    """backup.json: what a complete archive holds, in the order it was copied."""

    database: str
    server_version: str
    started_at: str
    finished_at: str
    collections: list[CollectionFile]
    #: The change feed's counter when the backup started and when it ended.
    feed: dict = field(default_factory=dict)
    tool: str = TOOL

    def write(self, root: Path) -> None:
        _write_text(root / MANIFEST, json.dumps(asdict(self), indent=2, ensure_ascii=False))

    @classmethod
    def read(cls, root: Path) -> Manifest | None:
        """The manifest of the archive at `root`; None when there is none (a stock mongodump)."""
        path = root / MANIFEST
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            data["collections"] = [CollectionFile(**c) for c in data["collections"]]
            return cls(**data)
        except (ValueError, KeyError, TypeError) as exc:
            raise ArchiveError(f"{path} is not a manifest of this tool: {exc}") from None


def file_stem(collection: str) -> str:
    """A collection's file name without suffix, escaped like mongodump's."""
    return quote_plus(collection)


def bson_path(directory: Path, collection: str) -> Path:
    return directory / f"{file_stem(collection)}{BSON_SUFFIX}"


def metadata_path(directory: Path, collection: str) -> Path:
    return directory / f"{file_stem(collection)}{METADATA_SUFFIX}"


def database_directory(root: Path) -> Path:
    """The one database directory of an archive (this tool writes exactly one)."""
    if not root.is_dir():
        raise ArchiveError(f"{root} is not a directory")
    found = sorted(p for p in root.iterdir() if p.is_dir())
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ArchiveError(f"{root} must hold exactly one database directory, found: {names}")
    return found[0]


def collections_in(directory: Path) -> list[str]:
    """Every collection with a `.bson` file in a database directory, by name."""
    return sorted(
        unquote_plus(p.name[: -len(BSON_SUFFIX)])
        for p in directory.iterdir()
        if p.is_file() and p.name.endswith(BSON_SUFFIX)
    )


class BsonWriter:
    """Appends raw documents to a new `.bson` file, counting and hashing them."""

    def __init__(self, path: Path):
        self.path = path
        self.documents = 0
        self.bytes = 0
        self._digest = hashlib.sha256()
        self._file = path.open("xb")

    def write(self, document: RawBSONDocument) -> None:
        raw = document.raw
        self._file.write(raw)
        self._digest.update(raw)
        self.documents += 1
        self.bytes += len(raw)

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> BsonWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_bson(path: Path) -> Iterator[RawBSONDocument]:
    """The documents of a `.bson` file, undecoded, one at a time; ArchiveError when the file
    is cut short or a length is impossible."""
    with path.open("rb", buffering=_READ) as f:
        offset = 0
        while header := f.read(4):
            (size,) = struct.unpack("<i", header.ljust(4, b"\0"))
            if len(header) < 4 or not 5 <= size <= MAX_DOCUMENT:
                raise ArchiveError(f"{path}: no BSON document at byte {offset}")
            body = f.read(size - 4)
            if len(body) != size - 4 or body[-1] != 0:
                raise ArchiveError(f"{path}: document at byte {offset} is cut short")
            offset += size
            yield RawBSONDocument(header + body, RAW)


def file_sha256(path: Path) -> tuple[str, int]:
    """SHA-256 and size of a file, read in pieces."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while piece := f.read(_READ):
            digest.update(piece)
            size += len(piece)
    return digest.hexdigest(), size


def metadata(collection: str, indexes: list, *, options=None, uuid: str | None = None) -> dict:
    """A `.metadata.json` document, with mongodump's keys in mongodump's order."""
    doc: dict = {}
    if options:
        doc["options"] = options
    doc["indexes"] = indexes
    if uuid:
        doc["uuid"] = uuid
    doc["collectionName"] = collection
    doc["type"] = "collection"
    return doc


def write_metadata(path: Path, doc: dict) -> None:
    """Canonical Extended JSON without spaces, as mongodump writes it."""
    text = json_util.dumps(
        doc, json_options=json_util.CANONICAL_JSON_OPTIONS, separators=(",", ":")
    )
    _write_text(path, text)


def read_metadata(path: Path) -> dict:
    """A `.metadata.json` file; a missing one means no indexes beyond `_id`."""
    if not path.is_file():
        return {"indexes": []}
    try:
        doc = json_util.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ArchiveError(f"{path}: not Extended JSON: {exc}") from None
    if not isinstance(doc.get("indexes", []), list):
        raise ArchiveError(f"{path}: indexes must be a list")
    return doc


def write_prelude(root: Path, server_version: str) -> None:
    _write_text(root / PRELUDE, json.dumps({"ServerVersion": server_version, "ToolVersion": TOOL}))


def _write_text(path: Path, text: str) -> None:
    with path.open("x", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
