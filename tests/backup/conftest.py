"""Fixtures of the backup tests: a second embedded server to restore into (started like the
suite's own, by scripts/services.sh, on a free port), a database with something of everything
the service stores, and comparisons of collections by their raw bytes."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path
from types import SimpleNamespace

import bson
import pytest
from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from checklists.versions import pinned_template
from media import holder
from server.backup.archive import RAW
from tests.media import helpers as media
from tests.sync.helpers import FAIL, failing_yes_no_item, make_world, passing_answers, phone_for

SERVICES = Path(__file__).resolve().parents[2] / "scripts" / "services.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def second_server(tmp_path_factory):
    """A client of another embedded server (memory store), stopped after the session."""
    port = _free_port()
    env = {**os.environ, "RUN_DIR": str(tmp_path_factory.mktemp("second-server"))}
    subprocess.run([SERVICES, "start-mongo", str(port), "memory"], env=env, check=True)
    client = MongoClient(
        f"mongodb://127.0.0.1:{port}/",
        uuidRepresentation="standard",
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
    )
    yield client
    client.close()
    subprocess.run([SERVICES, "stop-mongo", str(port)], env=env, check=True)


@pytest.fixture
def fresh_db(second_server):
    """An empty database on the second server, dropped afterwards."""
    name = f"restored_{uuid.uuid4().hex[:12]}"
    yield second_server[name]
    second_server.drop_database(name)


def with_photos(template, *hashes) -> dict:
    """Passing answers but one failed item that needs photos, naming `hashes`."""
    item = failing_yes_no_item(template, photo_required=True)
    answers = passing_answers(template)
    answers[item.code] = {"value": FAIL, "photos": list(hashes)}
    return answers


@pytest.fixture
def populated(client, auth_headers, published, db):
    """Two phones' inspections (drafts, edits, a submission, a deletion) with photos, one of
    them larger than a blob chunk, all through the API; and a collection of awkward BSON."""
    cs = pinned_template("CS", 1)
    jurisdiction, enterprise, inspectors = make_world(inspectors=2)
    phones = [
        phone_for(client, user, auth_headers, device_id=f"backup-phone-{i}", seed=i)
        for i, user in enumerate(inspectors)
    ]
    shots = {}
    for i, phone in enumerate(phones):
        pictures = [media.noisy_jpeg(size=(640, 480), seed=20 + i)]
        if i == 0:
            pictures.append(media.noisy_jpeg(size=(2000, 1500), seed=3))  # two blob chunks
        hashes = [phone.take_photo(p) for p in pictures]
        shots.update(zip(hashes, pictures, strict=True))
        kept = phone.create_inspection(
            enterprise_id=str(enterprise.id),
            checklist_code="CS",
            checklist_version=1,
            answers=with_photos(cs, *hashes),
        )
        edited = phone.create_inspection(
            enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
        )
        gone = phone.create_inspection(
            enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
        )
        phone.sync()
        phone.edit(edited, note=f"edited by phone {i}")
        phone.submit(kept, answers=with_photos(cs, *hashes))
        phone.delete(gone)
        phone.sync()
    db["awkward_bson"].insert_many(AWKWARD)
    # This process's upload heartbeat writes its document at its own pace: beat now, so that
    # it exists before any backup starts (later beats only rewrite it).
    holder.current(db).beat()
    return SimpleNamespace(
        jurisdiction=jurisdiction, phones=phones, inspectors=inspectors, shots=shots
    )


#: Values a decode-and-encode round trip could alter: int64 beside int32, a double that is a
#: whole number, Decimal128, binary subtypes, a regex, keys in a non-sorted order, timestamps.
AWKWARD = [
    RawBSONDocument(
        bson.encode(
            {
                "_id": bson.Int64(7),
                "z": 1,
                "a": bson.Int64(1),
                "d": 2.0,
                "dec": bson.Decimal128("1.10"),
                "uuid": bson.Binary(uuid.UUID(int=5).bytes, 4),
                "old_uuid": bson.Binary(b"0123456789abcdef", 3),
                "re": bson.Regex("^a.*", "i"),
                "ts": bson.Timestamp(1700000000, 3),
                "nested": {"b": [1, {"y": None, "x": True}], "a": bson.MinKey()},
            }
        )
    ),
    {"_id": "text id", "when": bson.datetime.datetime(2024, 5, 1, 10, 23, 45, 123000)},
    {"_id": bson.ObjectId(), "code": bson.Code("function () {}")},
]


def raw_documents(db, name: str) -> dict:
    """A collection as {_id: raw bytes}."""
    return {d["_id"]: d.raw for d in db.get_collection(name, codec_options=RAW).find()}


def archived_documents(path: Path) -> dict:
    """A `.bson` file as {_id: raw bytes}, read by pymongo's own reader."""
    with path.open("rb") as f:
        found = [d for d in bson.decode_file_iter(f, codec_options=RAW)]
    by_id = {d["_id"]: d.raw for d in found}
    assert len(by_id) == len(found), f"{path} holds a document twice"
    return by_id


def user_collections(db) -> list[str]:
    return sorted(n for n in db.list_collection_names() if not n.startswith("system."))
