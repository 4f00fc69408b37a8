"""The sequencer's protocol, step by step, including the crash cases it must survive."""

from __future__ import annotations

import orjson
from mongoengine.connection import get_db
from pymongo import MongoClient, monitoring

from server import json_encoding
from server.actor import Role
from server.models.enterprise import Enterprise
from server.models.synced import DIRTY, mark_dirty
from sync import feed, sequencer
from sync.collections import ALL, BY_NAME, COPY_EDITION, copy_key
from tests.factories import EnterpriseFactory, JurisdictionFactory, UserFactory, regulator
from tests.sync.helpers import LogReads, watched


def _drain(actor, cursor=None):
    changes = []
    while True:
        page = feed.pull(get_db(), actor, cursor=cursor)
        changes += page.decoded()
        cursor = page.cursor
        if not page.has_more:
            return changes, cursor


def test_every_write_gets_a_dense_sequence_number(db):
    enterprises = [EnterpriseFactory() for _ in range(5)]
    assert sequencer.sequence_pending(db) == 5
    assert sequencer.counter(db) == 5
    assert sorted(d["_id"] for d in db["sync_log"].find()) == [1, 2, 3, 4, 5]
    assert {e.reload().sync_seq for e in enterprises} == {1, 2, 3, 4, 5}
    assert not sequencer.has_pending(db)


def test_dirty_marker_survives_a_write_during_the_round(db):
    EnterpriseFactory()
    seen = db[DIRTY].find_one({"_id": "enterprises"})["n"]
    mark_dirty("enterprises")  # a writer marks after the round read the marker
    sequencer._sequence_collection(db, BY_NAME["enterprises"], seen)
    assert sequencer.has_pending(db), "the round must not clear a marker touched meanwhile"


def test_a_write_whose_dirty_mark_was_lost_is_found_by_the_sweep(db):
    enterprise = EnterpriseFactory()
    sequencer.sequence_pending(db)
    # A writer died between its write and its dirty mark: only the document says it changed.
    db["enterprises"].update_one(
        {"_id": enterprise.id},
        {"$set": {"name": "改名", "sync_seq": None}, "$inc": {"sync_rev": 1}},
    )
    assert sequencer.sequence_pending(db) == 0
    sequencer.sweep(db)
    assert sequencer.sequence_pending(db) == 1
    assert db["sync_log"].find_one({"_id": 2})["d"] == enterprise.id


def test_log_entries_orphaned_by_a_crash_are_adopted(db):
    EnterpriseFactory()
    sequencer.sequence_pending(db)
    # A sequencer wrote entries 2 and 3 and died before advancing the counter.
    db["sync_log"].insert_many(
        [
            {"_id": 2, "c": "enterprises", "d": "ghost", "s": {}, "at": None},
            {"_id": 3, "c": "enterprises", "d": "ghost", "s": {}, "at": None},
        ]
    )
    EnterpriseFactory()
    assert sequencer.sequence_pending(db) == 1
    assert sequencer.counter(db) == 4
    assert db["sync_log"].count_documents({}) == 4


def test_a_document_leaving_a_readers_scope_reaches_them_as_a_tombstone(db):
    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    old_reader = regulator(Role.INSPECTOR, j1).actor()
    new_reader = regulator(Role.INSPECTOR, j2).actor()
    enterprise = EnterpriseFactory(jurisdiction_id=j1.id)
    changes, old_cursor = _drain(old_reader)
    assert [(c["id"], c["op"]) for c in changes] == [(str(enterprise.id), "upsert")]
    _, new_cursor = _drain(new_reader)
    Enterprise.objects(id=enterprise.id).update_one(set__jurisdiction_id=j2.id)
    changes, _ = _drain(old_reader, old_cursor)
    assert [(c["id"], c["op"]) for c in changes] == [(str(enterprise.id), "delete")]
    changes, _ = _drain(new_reader, new_cursor)
    assert [(c["id"], c["op"]) for c in changes] == [(str(enterprise.id), "upsert")]


def test_a_page_sends_the_copies_its_entries_carry_and_reads_documents_only_for_older_ones(db):
    reader = UserFactory(role=Role.ADMIN.value).actor()
    enterprises = [EnterpriseFactory(name=f"企业{n}") for n in range(3)]
    sequencer.sequence_pending(db)
    for entry in db["sync_log"].find():
        copy = entry["v"][copy_key(ALL)]
        assert orjson.loads(copy)["name"] == Enterprise.objects.get(id=entry["d"]).name
    # An entry written before copies were stored, and one whose copy was made under rules of
    # an older edition: the page reads those documents as they are now.
    db["sync_log"].update_one({"d": enterprises[0].id}, {"$unset": {"v": ""}})
    older = f"v.{ALL}-{COPY_EDITION - 1}"
    db["sync_log"].update_one({"d": enterprises[1].id}, {"$rename": {f"v.{copy_key(ALL)}": older}})
    for e in enterprises[:2]:
        db["enterprises"].update_one({"_id": e.id}, {"$set": {"name": f"改名{e.name}"}})
    changes, _ = _drain(reader)
    names = {c["id"]: c["data"]["name"] for c in changes if c["collection"] == "enterprises"}
    assert names == {
        **{str(e.id): f"改名{e.name}" for e in enterprises[:2]},
        str(enterprises[2].id): enterprises[2].name,
    }
    # The same page through the API's encoder: the copies are written as they are.
    page = feed.pull(db, reader, cursor=None)
    assert orjson.loads(json_encoding.dumps(page.changes)) == page.decoded() == changes


def test_a_reader_who_sees_a_sliver_of_the_log_fetches_only_their_own_copies(
    db, settings, monkeypatch
):
    mine, theirs = JurisdictionFactory(), JurisdictionFactory()
    reader = regulator(Role.SUPERVISOR, mine).actor()
    for n in range(60):
        EnterpriseFactory(jurisdiction_id=(mine if n % 10 == 0 else theirs).id)
    sequencer.sequence_pending(db)
    monkeypatch.setattr(feed, "WINDOW", 10)
    listener = LogReads()
    with watched(settings, listener) as observed:
        page = feed.pull(observed, reader, cursor=None)
    names = {c["id"]: c["data"]["name"] for c in page.decoded()}
    assert names == {str(e.id): e.name for e in Enterprise.objects(jurisdiction_id=mine.id)}
    # The first window is read with its copies (10 entries), then the walk finds the log is
    # mostly others' and reads entries alone; the reader's 5 later copies are fetched after.
    assert listener.sent == {True: 10 + 5, False: 50}


def test_rereading_a_page_is_harmless(db):
    reader = UserFactory(role=Role.ADMIN.value).actor()
    for _ in range(3):
        EnterpriseFactory()
    first = feed.pull(db, reader, cursor=None, limit=2)
    again = feed.pull(db, reader, cursor=None, limit=2)
    assert first.decoded() == again.decoded() and first.cursor == again.cursor
    rest = feed.pull(db, reader, cursor=first.cursor, limit=10)
    ids = [c["id"] for c in first.changes + rest.changes if c["collection"] == "enterprises"]
    assert len(ids) == len(set(ids)) == 3


def test_feed_visibility_is_the_scoped_queryset_rule(db):
    """The feed's `visible` predicates and the models' `for_actor` querysets must agree."""
    from server.models.inspection import Inspection
    from tests.factories import enterprise_user

    j1, j2 = JurisdictionFactory(), JurisdictionFactory()
    a, b = EnterpriseFactory(jurisdiction_id=j1.id), EnterpriseFactory(jurisdiction_id=j2.id)
    people = [
        UserFactory(role=Role.ADMIN.value),
        regulator(Role.SUPERVISOR, j1),
        regulator(Role.INSPECTOR, j1),
        regulator(Role.INSPECTOR, j2),
        enterprise_user(Role.ENTERPRISE_MANAGER, a),
        enterprise_user(Role.WORKER, b),
    ]
    inspectors = [p for p in people if p.role == Role.INSPECTOR.value]
    for n, inspector in enumerate(inspectors):
        Inspection(
            id=f"00000000-0000-4000-8000-{n:012d}",
            checklist_code="CS",
            checklist_version=1,
            enterprise_id=a.id,
            jurisdiction_id=inspector.jurisdiction_id,
            inspector_id=inspector.id,
            device_id="d" * 8,
        ).save()
    for name in ("enterprises", "inspections"):
        synced = BY_NAME[name]
        raws = list(db[synced.collection].find())
        for person in people:
            actor = person.actor()
            by_rule = {r["_id"] for r in raws if synced.visible(actor, synced.scope(r))}
            by_query = {d.pk for d in synced.document.objects.for_actor(actor)}
            assert by_rule == by_query, (name, person.role)


class _PullThenMoveDuringConfirmation(monitoring.CommandListener):
    """At the instant the sequencer confirms the entry it has just published (between its
    append to the log and its compare-and-set), a reader pulls it, then a writer moves the
    enterprise to another jurisdiction."""

    def __init__(self, reader, cursor, enterprise_id, to_jurisdiction):
        self.reader, self.cursor = reader, cursor
        self.enterprise_id, self.to = enterprise_id, to_jurisdiction
        self.appended, self.seen = False, None

    def started(self, event):
        if event.command_name == "insert" and event.command.get("insert") == "sync_log":
            self.appended = True
        elif (
            event.command_name == "update"
            and event.command.get("update") == "enterprises"
            and self.appended
            and self.seen is None
        ):
            db = get_db()
            # The feed's own steps, without its wait for the sequencer (which is us).
            after, high = feed.decode_cursor(self.cursor), sequencer.counter(db)
            picked, scanned_to = feed._scan(db, self.reader, after, high, 100)
            self.seen = feed._materialize(db, self.reader, picked)
            self.cursor = feed.encode_cursor(scanned_to)
            Enterprise.objects(id=self.enterprise_id).update(set__jurisdiction_id=self.to)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def test_an_audience_published_while_a_write_races_its_confirmation_still_gets_its_tombstone(
    db, settings
):
    a, x, y = (JurisdictionFactory() for _ in range(3))
    enterprise = EnterpriseFactory(jurisdiction_id=a.id)
    sequencer.sequence_pending(db)
    watcher_x = regulator(Role.SUPERVISOR, x).actor()
    _, cursor = _drain(watcher_x)
    Enterprise.objects(id=enterprise.id).update(set__jurisdiction_id=x.id)
    race = _PullThenMoveDuringConfirmation(watcher_x, cursor, enterprise.id, y.id)
    client = MongoClient(settings.mongodb_uri, event_listeners=[race], tz_aware=True)
    try:
        sequencer.sequence_pending(client[settings.mongodb_database])
    finally:
        client.close()
    # X's supervisor took the enterprise while it was theirs ...
    assert [(c["id"], c["op"]) for c in race.seen] == [(str(enterprise.id), "upsert")]
    # ... and is told when it has moved on, though the move raced the entry's confirmation.
    later, _ = _drain(watcher_x, race.cursor)
    assert [(c["id"], c["op"]) for c in later] == [(str(enterprise.id), "delete")]
