"""Public reports (群众举报): what a member of the public saw at an enterprise, sent without an
account, until a supervisor of the jurisdiction verifies it (it becomes a hazard) or dismisses
it with a reason (server.services.hazards.public_reports).

The reporter is nobody the service knows: the report keeps no client address, and its photos
are uploaded under `uploader_id`, an id of the report's own that names no user. The follow-up
code the reporter gets is stored only as its SHA-256 (`code_hash`), so a reader of the database
cannot follow a report as its reporter.
"""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    Document,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet


class Status:
    """A report waits for a supervisor, who verifies or dismisses it."""

    PENDING = "pending"
    VERIFIED = "verified"
    DISMISSED = "dismissed"
    ALL = (PENDING, VERIFIED, DISMISSED)


#: Admins see all; supervisors the reports of their jurisdiction (they verify them); nobody
#: else — not the inspectors, and never the enterprise reported.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
    }
)


class PublicReport(Document):
    audience = AUDIENCE

    #: SHA-256 (hex) of the follow-up code; the code itself is shown once, to the reporter.
    code_hash = StringField(required=True, unique=True)
    jurisdiction_id = ObjectIdField(required=True)
    #: A known enterprise the reporter chose, if any; else only the name and address given.
    enterprise_id = ObjectIdField()
    enterprise_name = StringField(required=True, max_length=200)
    enterprise_address = StringField(max_length=300)
    place = StringField(max_length=200)
    description = StringField(required=True, max_length=2000)
    #: How the reporter may be reached, if they chose to say: supervisors only, never copied.
    contact = StringField(max_length=200)
    #: The uploader of the report's photos: a fresh id per report, no user's.
    uploader_id = ObjectIdField(required=True)
    #: SHA-256 of each photo, as stored (decoded and re-encoded without metadata).
    photos = ListField(StringField())
    status = StringField(required=True, choices=Status.ALL, default=Status.PENDING)
    decided_by = ObjectIdField()
    decided_at = DateTimeField()
    dismiss_reason = StringField(max_length=2000)
    hazard_id = StringField()
    submitted_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)
    #: Incremented by every change: decisions compare-and-set on (_id, rev).
    rev = IntField(required=True, default=0)

    meta = {
        "collection": "public_reports",
        "queryset_class": ScopedQuerySet,
        "indexes": [{"fields": ["id", "rev"], "unique": True}, "jurisdiction_id"],
    }
