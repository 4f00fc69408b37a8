"""`init-db` remakes an index whose uniqueness the code changed, on a database stored under the
old one (an index made unique later: the offline decisions' device numbers)."""

from __future__ import annotations

import uuid

from server.db import drop_changed_indexes, ensure_indexes
from server.models.entry_decision import EntryDecision


def test_an_index_made_unique_since_is_dropped_and_made_again_unique(db):
    scratch = db.client[f"scratch_{uuid.uuid4().hex[:12]}"]
    try:
        old = scratch[EntryDecision._get_collection_name()]
        name = old.create_index([("device_id", 1), ("device_seq", 1)])
        old.insert_one({"device_id": "phone-1", "device_seq": 1})

        assert drop_changed_indexes([EntryDecision], scratch) == [f"{old.name}.{name}"]
        ensure_indexes([EntryDecision], db=scratch)
        info = old.index_information()
        assert info[name]["unique"] is True
        # Done once: the declared index is left alone from now on.
        assert drop_changed_indexes([EntryDecision], scratch) == []
        assert old.count_documents({}) == 1
    finally:
        db.client.drop_database(scratch.name)
