"""The archive's format against mongodump's layout: every `.bson` file is its collection's
documents byte for byte (read back with pymongo's own reader), every `.metadata.json` is
canonical Extended JSON holding what `listIndexes` answers, and the manifest describes the
files; a backup goes into a new directory only."""

from __future__ import annotations

import json

import pytest
from bson import json_util

from media.holder import HOLDERS
from server.backup import archive, order
from server.backup.dump import WINDOW, BackupError, backup
from server.backup.order import BACKUP_ORDER, UNLISTED
from server.models import DOCUMENTS
from sync.sequencer import LOG
from tests.backup.conftest import archived_documents, raw_documents, user_collections


def test_every_bson_file_holds_its_collections_documents_byte_for_byte(populated, db, tmp_path):
    report = backup(db, tmp_path / "dump")
    directory = tmp_path / "dump" / db.name
    names = user_collections(db)
    assert {"inspections", "photos", "media_blobs", "media_chunks", "sync_log"} <= set(names)
    expected = {f"{n}{suffix}" for n in names for suffix in (".bson", ".metadata.json")}
    assert {p.name for p in directory.iterdir()} == expected
    for name in names:
        archived = archived_documents(directory / f"{name}.bson")
        if name == HOLDERS:  # this process's upload heartbeat keeps beating during the copy
            assert archived.keys() <= raw_documents(db, name).keys()
        else:
            assert archived == raw_documents(db, name), name
    assert report.documents == sum(db[n].count_documents({}) for n in names)


def test_metadata_is_mongodumps_extended_json_with_the_indexes(populated, db, tmp_path):
    backup(db, tmp_path / "dump")
    directory = tmp_path / "dump" / db.name
    for name in user_collections(db):
        text = (directory / f"{name}.metadata.json").read_text(encoding="utf-8")
        meta = json_util.loads(text)
        assert list(meta) == ["indexes", "collectionName", "type"], name
        assert meta["collectionName"] == name and meta["type"] == "collection"
        indexes = list(db[name].list_indexes())
        assert meta["indexes"] == indexes, name
        assert [list(i["key"].items()) for i in meta["indexes"]] == [
            list(i["key"].items()) for i in indexes
        ]
        assert text.startswith('{"indexes":[{') and '", "' not in text and '": ' not in text
    inspections = json_util.loads((directory / "inspections.metadata.json").read_text())
    unique = [i for i in inspections["indexes"] if i.get("unique")]
    assert [list(i["key"]) for i in unique] == [["_id", "sync_rev"]]
    # Canonical mode, as mongodump writes it: every number says its BSON type.
    assert '"key":{"_id":{"$numberInt":"1"}}' in (directory / "users.metadata.json").read_text()


def test_manifest_and_prelude_describe_the_archive(populated, db, tmp_path):
    report = backup(db, tmp_path / "dump")
    root = tmp_path / "dump"
    manifest = archive.Manifest.read(root)
    assert manifest == report.manifest
    assert [c.name for c in manifest.collections] == order.backup_order(user_collections(db))
    for c in manifest.collections:
        assert (c.sha256, c.bytes) == archive.file_sha256(root / db.name / f"{c.name}.bson")
        assert c.documents == db[c.name].count_documents({})
    assert manifest.feed["head_at_start"] <= manifest.feed["head_at_end"]
    prelude = json.loads((root / "prelude.json").read_text())
    assert prelude == {"ServerVersion": manifest.server_version, "ToolVersion": archive.TOOL}


def test_the_log_is_read_by_number_in_order_across_holes(populated, db, tmp_path):
    top = db[LOG].count_documents({})
    filler = [{"_id": n, "c": "none", "d": n, "s": {}} for n in range(top + 1, top + 3 * WINDOW)]
    db[LOG].insert_many(filler)
    # Compaction leaves holes (longer than a window) below the head, never above it; a
    # sequencer that died before moving the head leaves entries just above it.
    db[LOG].delete_many({"_id": {"$gt": top + 2, "$lt": top + 2 * WINDOW + 10}})
    db["counters"].update_one({"_id": LOG}, {"$set": {"value": top + 3 * WINDOW - 20}})
    backup(db, tmp_path / "dump")
    numbers = [d["_id"] for d in archive.read_bson(tmp_path / "dump" / db.name / "sync_log.bson")]
    assert numbers == sorted(d["_id"] for d in db[LOG].find())
    assert numbers[-1] == top + 3 * WINDOW - 1


def test_a_backup_goes_into_a_new_directory_and_only_appears_complete(db, tmp_path):
    db["jurisdictions"].insert_one({"code": "310115", "name": "浦东新区"})
    (tmp_path / "taken").mkdir()
    with pytest.raises(BackupError, match="exists"):
        backup(db, tmp_path / "taken")
    (tmp_path / "cut.partial").mkdir()
    with pytest.raises(BackupError, match="interrupted"):
        backup(db, tmp_path / "cut")
    backup(db, tmp_path / "new")
    assert not (tmp_path / "new.partial").exists() and (tmp_path / "new" / "backup.json").exists()


def test_every_collection_of_the_service_has_a_place_in_the_order(populated, db):
    placed = {name for name, _why in BACKUP_ORDER if name != UNLISTED}
    assert {d._get_collection_name() for d in DOCUMENTS} <= placed
    # Collections holding documents after a populated service ran (other tests leave empty
    # collections of their own behind: the suite empties collections, never drops them).
    used = {name for name in user_collections(db) if db[name].find_one({}, {"_id": 1})}
    assert used - {"awkward_bson"} <= placed
