"""Exporting a range of one chain as files that `server.services.audit.verify` checks with
nothing but the public key (the CLI command `audit-export` calls this).

An export directory holds:
- `events.jsonl`: events `from`..`to`, one canonical JSON object per line, as stored (with
  `chain`, `n`, `prev` and `hash`; without the database's `_id`);
- `signatures.jsonl`: the signed heads among those numbers;
- `photos/<sha256>`: the original bytes of every photo the events name (`--photos`);
- `manifest.json`: what was asked and found (chain, range, head at export time, counts, the
  photos the store did not have). It is a convenience, not evidence: nothing signs it.
Photos are read through `read_photo(sha256) -> iterable of bytes` (the blob store's `read`),
so this module knows no media storage.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from pymongo.database import Database

from server.services.audit import canonical
from server.services.audit import chain as chains

FORMAT = "safety-audit-export/1"
SHA256 = re.compile(r"^[0-9a-f]{64}$")
EVENTS_FILE, SIGNATURES_FILE, PHOTOS_DIR, MANIFEST_FILE = (
    "events.jsonl",
    "signatures.jsonl",
    "photos",
    "manifest.json",
)


def export_chain(
    db: Database,
    chain: str,
    out: Path,
    *,
    now: datetime,
    first: int = 1,
    last: int | None = None,
    read_photo: Callable[[str], Iterable[bytes]] | None = None,
) -> dict:
    """Write events `first`..`last` (default: the head) of `chain` into the new or empty
    directory `out`; photos too when `read_photo` is given. Returns the manifest."""
    head = chains.head(db, chain)
    if head == 0:
        raise ValueError(f"chain {chain} has no events")
    last = head if last is None else min(last, head)
    if not 1 <= first <= last:
        raise ValueError(f"no events {first}..{last} in chain {chain} (head: {head})")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} is not empty")
    out.mkdir(parents=True, exist_ok=True)
    photos: dict[str, None] = {}
    events = 0
    with open(out / EVENTS_FILE, "w", encoding="utf-8") as f:
        for doc in chains.read(db, chains.EVENTS, chain, first, last):
            f.write(canonical.event_line(doc) + "\n")
            photos.update(dict.fromkeys(doc.get("photos") or ()))
            events += 1
    signatures, key_ids = 0, set()
    with open(out / SIGNATURES_FILE, "w", encoding="utf-8") as f:
        for doc in chains.read(db, chains.SIGNATURES, chain, first, last):
            f.write(canonical.event_line(doc) + "\n")
            key_ids.add(doc.get("key_id"))
            signatures += 1
    missing = _write_photos(out / PHOTOS_DIR, list(photos), read_photo) if read_photo else []
    manifest = {
        "format": FORMAT,
        "chain": chain,
        "from": first,
        "to": last,
        "head": head,
        "events": events,
        "signatures": signatures,
        "key_ids": sorted(k for k in key_ids if k),
        "photos": read_photo is not None,
        "photos_referenced": len(photos),
        "photos_missing": missing,
        "exported_at": canonical.timestamp(now),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _write_photos(directory: Path, hashes: list[str], read_photo) -> list[str]:
    """Each photo's original bytes under its hash; returns the hashes the store lacks."""
    directory.mkdir()
    missing = []
    for sha256 in hashes:
        if not isinstance(sha256, str) or not SHA256.match(sha256):
            continue  # not a photo name (the verifier reports it); never a path to write
        target = directory / sha256
        partial = directory / f".{sha256}.part"
        try:
            with open(partial, "wb") as f:
                for piece in read_photo(sha256):
                    f.write(piece)
        except KeyError:
            partial.unlink(missing_ok=True)
            missing.append(sha256)
            continue
        os.replace(partial, target)
    return missing
