"""Timers: a job due at a date (a reminder before a deadline, the instant a notice is overdue),
kept in MongoDB so that losing Redis loses no timer (server.services.timers).

States: `scheduled` (waiting for `due_at`; may be moved or canceled) → `firing` (a tick took it:
its outbox entry is being written; it can no longer be moved or canceled) → `fired` (the entry
`entry_id` exists). `canceled`: it will not fire unless scheduled again. The key (`_id`) names
what the timer is for, e.g. `notice:<id>:remind`; a key fires at most once.
"""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, Document, IntField, StringField

SCHEDULED, FIRING, FIRED, CANCELED = "scheduled", "firing", "fired", "canceled"
STATES = (SCHEDULED, FIRING, FIRED, CANCELED)


class Timer(Document):
    id = StringField(primary_key=True)
    due_at = DateTimeField(required=True)
    #: The registered outbox job to run (server.services.outbox.register_job) and its arguments.
    job = StringField(required=True)
    args = DictField()
    state = StringField(required=True, choices=STATES)
    #: The outbox entry the timer became (deterministic: derived from the key).
    entry_id = StringField()
    created_at = DateTimeField(required=True)
    updated_at = DateTimeField(required=True)
    fired_at = DateTimeField()
    #: Incremented by every write: changes compare-and-set on exactly (_id, rev).
    rev = IntField(required=True, default=0)

    meta = {
        "collection": "timers",
        # Unique (trivially: it holds _id) so the embedded server answers the compare-and-set
        # from an index instead of scanning every timer.
        "indexes": [{"fields": ["id", "rev"], "unique": True}],
    }
