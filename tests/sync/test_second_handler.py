"""A second pushable collection, defined here, goes through the same engine with its own rules:
the engine knows no inspection, and adding a collection is one handler plus one registration."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path

import marshmallow as ma
import pytest
from mongoengine import DateTimeField, IntField, ListField, ObjectIdField, StringField
from mongoengine.connection import get_db

from server.actor import Role
from server.clock import utcnow
from server.errors import RuleViolation
from server.models.audience import EVERYONE, Audience, Match
from server.models.jurisdiction import Jurisdiction
from server.models.synced import SyncedDocument, SyncedQuerySet
from server.services import outbox
from sync.collections import SyncedCollection
from sync.handler import PushContext, PushHandler, handlers
from sync.policy import Refusal
from sync.push import push
from tests.factories import EnterpriseFactory, enterprise_user, regulator

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ("sync/push.py", "sync/handler.py", "sync/mutation.py", "sync/policy.py")


class SiteNote(SyncedDocument):
    """A note an enterprise manager keeps about a site, closed once answered."""

    audience = Audience(
        {
            Role.ADMIN: EVERYONE,
            Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
            Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
        }
    )
    id = StringField(primary_key=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    text = StringField()
    state = StringField()
    version = IntField()
    mutation_ids = ListField(StringField())
    closed_at = DateTimeField()

    meta = {
        "collection": "test_site_notes",
        "queryset_class": SyncedQuerySet,
        "indexes": [{"fields": ["id", "sync_rev"], "unique": True}],
    }


class NoteData(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    text = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))


def remember_closing(note_id: str, entry_id: str) -> None:
    get_db()["test_closings"].insert_one({"_id": entry_id, "note": note_id})


class SiteNoteHandler(PushHandler):
    synced = SyncedCollection(name="site_notes", document=SiteNote)
    kind = "site_note"
    ops = ("create", "update", "submit")

    def data_schema(self, op):
        return NoteData()

    def create(self, ctx: PushContext, data: dict) -> dict:
        actor = ctx.actor
        if actor.role is not Role.ENTERPRISE_MANAGER:
            raise RuleViolation("only enterprise managers keep site notes")
        return {
            "enterprise_id": actor.enterprise_id,
            "jurisdiction_id": actor.jurisdiction_id,
            "text": data["text"],
            "state": "open",
        }

    def refusal(self, ctx, current, op):
        if current["state"] == "closed":
            return Refusal("CLOSED", "a closed note is kept as it was")
        return None

    def changes(self, ctx, current, op, data):
        if "forbidden" in data["text"]:
            raise RuleViolation("that word is not allowed in a note")
        changes = {"text": data["text"]}
        if op == "submit":
            changes.update(state="closed", closed_at=ctx.now)
        return changes

    def jobs(self, ctx, op, before, after):
        if op == "submit":
            return [outbox.Job("test.remember_closing", {"note_id": after["_id"]})]
        return []


@pytest.fixture
def notes(db):
    SiteNote.ensure_indexes()
    outbox.register_job("test.remember_closing", remember_closing)
    handlers.register(SiteNoteHandler())
    yield
    handlers.unregister("site_notes")


def _m(op, note_id, text, **extra):
    return {
        "mutation_id": str(uuid.uuid4()),
        "collection": "site_notes",
        "op": op,
        "id": note_id,
        "data": {"text": text},
        **extra,
    }


def test_a_second_collection_pushes_through_the_engine_with_its_own_rules(notes, db):
    enterprise = EnterpriseFactory()
    manager = enterprise_user(Role.ENTERPRISE_MANAGER, enterprise).actor()
    supervisor = regulator(Role.SUPERVISOR, _jurisdiction(enterprise)).actor()
    note = str(uuid.uuid4())

    def send(actor, *mutations):
        return push(PushContext(db, actor, "device-0001", utcnow()), list(mutations))

    # The collection's own create rule; the engine's envelope checks are the same as ever.
    (refused,) = send(supervisor, _m("create", note, "x"))
    assert refused["problem"]["detail"] == "only enterprise managers keep site notes"
    (bad_op,) = send(manager, _m("delete", note, "x", base_version=1))
    assert bad_op["problem"]["errors"] == [
        {"field": "op", "messages": ["site_notes accept create, update, submit"]}
    ]
    created, updated, stale, rejected, closed = send(
        manager,
        _m("create", note, "first"),
        _m("update", note, "second", base_version=1),
        _m("update", note, "from an old copy", base_version=1),
        _m("update", note, "a forbidden word", base_version=2),
        _m("submit", note, "answered", base_version=2),
    )
    assert [created["status"], updated["status"], closed["status"]] == ["applied"] * 3
    assert (stale["status"], stale["reason"]) == ("conflict", "STALE_VERSION")
    assert stale["server_copy"]["text"] == "second"
    assert rejected["problem"]["detail"] == "that word is not allowed in a note"
    # Closed: the handler's lifecycle rule answers as a conflict, whatever the version.
    (late,) = send(manager, _m("update", note, "later", base_version=3))
    assert (late["status"], late["reason"]) == ("conflict", "CLOSED")
    stored = db["test_site_notes"].find_one({"_id": note})
    assert (stored["text"], stored["state"], stored["version"]) == ("answered", "closed", 3)
    # The handler's job was staged with its write and confirmed: ready to run once.
    [job] = db["outbox"].find({"job": "test.remember_closing"})
    assert job["state"] in ("pending", "ready", "done")
    assert outbox.witnessed(job)  # its write happened: a worker may take it
    assert job["args"] == {"note_id": note}
    # Another enterprise's manager does not learn the note exists.
    other = enterprise_user(Role.ENTERPRISE_MANAGER, EnterpriseFactory()).actor()
    (hidden,) = send(other, _m("update", note, "mine now", base_version=3))
    assert hidden["problem"]["type"] == "/problems/not-found"


def test_the_engine_imports_nothing_of_any_collection():
    """The engine's modules import no handler, no model of an aggregate, no domain service."""
    for rel in ENGINE:
        tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
        names = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        } | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
        aggregate = {
            n
            for n in names
            if n.startswith(("sync.handlers", "server.models.", "checklists", "media"))
            or (n.startswith("server.services") and n != "server.services")
        }
        platform = {
            "server.models.synced",
            "server.services.outbox",
            "server.services.audit",
            "server.services.audit.event",
        }
        assert aggregate <= platform, (rel, aggregate)


def _jurisdiction(enterprise):
    return Jurisdiction.objects.get(id=enterprise.jurisdiction_id)
