"""Outbox entries: a job that a state change requires, recorded in MongoDB (server.services.outbox).

States: `pending` (written before the change, not yet known to have happened) → `ready` (the
change happened: dispatch it) → `running` (a worker holds it until `lease_until`) → `done`, or
back to `ready` for a retry, or `failed` once its attempts are spent. `discarded`: the change
never happened. The entry's `_id` is also its RQ job id.
"""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    StringField,
)

PENDING, READY, RUNNING, DONE, FAILED, DISCARDED = (
    "pending",
    "ready",
    "running",
    "done",
    "failed",
    "discarded",
)
STATES = (PENDING, READY, RUNNING, DONE, FAILED, DISCARDED)
#: States a sweep looks at: everything that is not finished one way or the other.
LIVE = (PENDING, READY, RUNNING)


class OutboxEntry(Document):
    id = StringField(primary_key=True)
    #: A registered job name (server.services.outbox.register_job), never an import path.
    job = StringField(required=True)
    args = DictField()
    state = StringField(required=True, choices=STATES)
    #: Where the change that requires this job leaves its mark: `[{c, d, f, t}]` = collection,
    #: document id, list field, token. Any one present confirms a pending entry.
    witnesses = ListField(DictField())
    created_at = DateTimeField(required=True)
    ready_at = DateTimeField()
    started_at = DateTimeField()
    lease_until = DateTimeField()
    finished_at = DateTimeField()
    attempts = IntField(required=True, default=0)
    last_error = StringField()
    #: Set on done: what the job returned (small JSON), for admins and tests.
    result = DictField()
    #: Incremented by every write: claims compare-and-set on exactly (_id, rev).
    rev = IntField(required=True, default=0)

    meta = {
        "collection": "outbox",
        # Unique (trivially: it holds _id) so the embedded server answers the compare-and-set
        # from an index instead of scanning every entry.
        "indexes": [{"fields": ["id", "rev"], "unique": True}],
    }
