"""Restore into a fresh embedded server: every collection comes back byte for byte with its
indexes; the target must be empty (or dropped); a damaged archive is refused before anything is
written; and `finish` readies the feed so that phones holding cursors of the old server get
every document again."""

from __future__ import annotations

import orjson
import pytest

from media.holder import HOLDERS
from server import json_encoding
from server.actor import Role
from server.backup import archive, order
from server.backup.archive import ArchiveError
from server.backup.dump import backup
from server.backup.restore import RestoreError, finish, load, restore
from server.db import ensure_indexes
from server.models import DOCUMENTS
from sync import feed, sequencer
from sync.collections import BY_NAME
from tests.backup.conftest import archived_documents, raw_documents, user_collections
from tests.factories import regulator


def _ids(db, name):
    return sorted(d["_id"] for d in db[name].find({}, {"_id": 1}))


def _indexes(db, name):
    return sorted(
        (i["name"], tuple(i["key"].items()), bool(i.get("unique"))) for i in db[name].list_indexes()
    )


def test_round_trip_into_a_fresh_server_keeps_every_collection(populated, db, fresh_db, tmp_path):
    holders = set(_ids(db, HOLDERS))
    backup(db, tmp_path / "dump")
    loaded = load(fresh_db, tmp_path / "dump")
    names = user_collections(db)
    assert [c.name for c in loaded] == order.restore_order(names)
    assert user_collections(fresh_db) == names
    for name in names:
        if name == HOLDERS:
            # This process's upload heartbeat keeps beating during the copy (and may write its
            # first beat only then): every holder there before is kept, none is made up.
            assert holders <= set(_ids(fresh_db, name)) <= set(_ids(db, name))
        else:
            assert raw_documents(fresh_db, name) == raw_documents(db, name), name
        assert _indexes(fresh_db, name) == _indexes(db, name), name
    directory = tmp_path / "dump" / db.name
    assert all(
        archived_documents(directory / f"{n}.bson") == raw_documents(fresh_db, n) for n in names
    )


def test_finish_resequences_the_feed_above_a_gap_for_phones_of_the_old_server(
    populated, db, fresh_db, tmp_path
):
    backup(db, tmp_path / "dump")
    top = sequencer.counter(db)
    _loaded, finished = restore(fresh_db, tmp_path / "dump", feed_gap=3000)
    synced = sum(fresh_db[s.collection].count_documents({}) for s in BY_NAME.values())
    assert (finished.restored_top, finished.resumes_at) == (top, top + 3001)
    assert finished.resequenced == synced
    assert sequencer.counter(fresh_db) == top + 3000 + synced
    assert fresh_db["sync_dirty"].count_documents({}) == 0
    to_phone = BY_NAME["inspections"].to_phone
    for phone, user in zip(populated.phones, populated.inspectors, strict=True):
        actor = user.actor(device_id=phone.device_id)
        expected = {
            d["_id"]: _jsonable(to_phone(d))
            for d in fresh_db["inspections"].find({"inspector_id": user.id, "deleted_at": None})
        }
        # A cursor the old server issued, and a pull from scratch, both end with every one.
        for cursor in (phone.cursor, None):
            assert _pull_all(fresh_db, actor, cursor) == expected
    supervisor = regulator(Role.SUPERVISOR, populated.jurisdiction).actor()
    assert len(_pull_all(fresh_db, supervisor, None)) == 4  # two phones' kept and edited ones
    ahead = feed.encode_cursor(sequencer.counter(fresh_db) + 1)
    with pytest.raises(feed.InvalidCursor):
        feed.pull(fresh_db, populated.inspectors[0].actor(), cursor=ahead)


def test_finish_ensures_the_codes_indexes_and_clears_leases(populated, db, fresh_db, tmp_path):
    db["leases"].insert_one({"_id": "sequencer", "owner": "gone", "until": None})
    backup(db, tmp_path / "dump")
    load(fresh_db, tmp_path / "dump")
    fresh_db["users"].drop_index("username_1")  # an archive of an older version, say
    finish(fresh_db, feed_gap=10)
    assert _indexes(fresh_db, "users") == _indexes(db, "users")
    assert fresh_db["leases"].count_documents({}) == 0


def test_declared_indexes_on_another_database_are_mongoengines(db, fresh_db):
    ensure_indexes(DOCUMENTS, fresh_db)
    for document in DOCUMENTS:
        name = document._get_collection_name()
        declared = [i for i in _indexes(db, name) if i[0] != "_id_"]
        assert [i for i in _indexes(fresh_db, name) if i[0] != "_id_"] == declared, name


def test_a_database_holding_documents_is_refused_unless_dropped(populated, db, fresh_db, tmp_path):
    backup(db, tmp_path / "dump")
    fresh_db["stray"].insert_one({"_id": 1})
    with pytest.raises(RestoreError, match="not empty.*stray"):
        load(fresh_db, tmp_path / "dump")
    load(fresh_db, tmp_path / "dump", drop=True)
    assert "stray" not in fresh_db.list_collection_names()
    assert raw_documents(fresh_db, "inspections") == raw_documents(db, "inspections")


def test_a_damaged_archive_is_refused_before_anything_is_written(populated, db, fresh_db, tmp_path):
    backup(db, tmp_path / "dump")
    chunks = tmp_path / "dump" / db.name / "media_chunks.bson"
    data = bytearray(chunks.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunks.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="media_chunks.bson is damaged"):
        load(fresh_db, tmp_path / "dump")
    assert user_collections(fresh_db) == []


def test_an_archive_without_manifest_is_restored_as_mongodump_wrote_it(
    populated, db, fresh_db, tmp_path
):
    backup(db, tmp_path / "dump")
    (tmp_path / "dump" / archive.MANIFEST).unlink()
    (tmp_path / "dump" / archive.PRELUDE).unlink()
    load(fresh_db, tmp_path / "dump")
    assert raw_documents(fresh_db, "media_chunks") == raw_documents(db, "media_chunks")


def _pull_all(db, actor, cursor) -> dict:
    seen: dict = {}
    while True:
        page = feed.pull(db, actor, cursor=cursor)
        for change in page.decoded():
            if change["collection"] != "inspections":
                continue
            if change["op"] == "delete":
                seen.pop(change["id"], None)
            else:
                seen[change["id"]] = _jsonable(change["data"])
        cursor = page.cursor
        if not page.has_more:
            return seen


def _jsonable(value):
    """Documents compared as the phone's JSON sees them (ObjectIds and dates as text)."""
    return orjson.loads(json_encoding.dumps(value))
