"""Review decisions: a supervisor's approval of a submitted inspection, or its return with a
reason per item, as the inspector's phone receives it through the feed.

The id is the decision id the reviewer's client chose (a UUID): sending the same decision
again finds it, so a retried request decides once. The inspection carries the same decision
as its `review`, set by the compare-and-set that decides it (server.services.review.decisions).
"""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, IntField, ObjectIdField, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match
from server.models.inspection import Status
from server.models.synced import UUID_PATTERN, SyncedDocument, SyncedQuerySet

#: Admins see all; supervisors their jurisdiction's decisions; the inspector the decisions on
#: their own inspections (what they must answer).
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.INSPECTOR: (Match("inspector_id", "user_id"),),
    }
)


class ReviewDecision(SyncedDocument):
    audience = AUDIENCE

    id = StringField(primary_key=True, regex=UUID_PATTERN)
    inspection_id = StringField(required=True, regex=UUID_PATTERN)
    #: The version of the inspection the reviewer saw, and the one the decision made.
    inspection_version = IntField(required=True)
    #: The first inspection of its thread (the original a chain of corrections answers).
    thread_id = StringField(required=True)
    verdict = StringField(required=True, choices=Status.REVIEWED)
    #: {item_code: reason} of a return.
    reasons = DictField()
    note = StringField()
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    inspector_id = ObjectIdField(required=True)
    reviewer_id = ObjectIdField(required=True)
    decided_at = DateTimeField(required=True)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "review_decisions",
        "queryset_class": SyncedQuerySet,
        "indexes": ["sync_seq", "inspection_id"],
    }
