"""Notifications: a short message to one user about a document (a hazard's deadline nears, it
is overdue, a due date passed unanswered), delivered to their phones through the change feed.

One document per message and recipient, its id derived from what it is about (the timer that
fired and the recipient), so a job that runs twice writes it once.
"""

from __future__ import annotations

from mongoengine import DateTimeField, IntField, ListField, ObjectIdField, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import Audience, Match
from server.models.synced import SyncedDocument, SyncedQuerySet

#: Each user sees only their own notifications (admins included: a feed of everybody's
#: messages would be noise, not oversight).
AUDIENCE = Audience({role: (Match("recipient_id", "user_id"),) for role in Role})


class Notification(SyncedDocument):
    audience = AUDIENCE

    id = StringField(primary_key=True)
    recipient_id = ObjectIdField(required=True)
    #: What happened: `reminder`, `overdue`, `escalation`.
    kind = StringField(required=True)
    #: The document it is about, e.g. ("hazards", "<uuid>").
    subject_collection = StringField(required=True)
    subject_id = StringField(required=True)
    #: The message in Chinese and in English.
    text_zh = StringField(required=True)
    text_en = StringField(required=True)
    #: The due date it is about, if any.
    due_at = DateTimeField()
    version = IntField(required=True, default=1)
    mutation_ids = ListField(StringField())
    created_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "notifications",
        "queryset_class": SyncedQuerySet,
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}],
    }
