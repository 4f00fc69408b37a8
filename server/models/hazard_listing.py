"""Supervised listings (挂牌督办): the record of a major hazard listed for supervision, by a
supervisor or by the system when a confirmed major passes its deadline, with the day the
listing is published and, after close-out, when it was delisted (摘牌).

A hazard is listed at most once (the lifecycle's `not_listed` rule), so the record's id is the
hazard's: written once whoever lists it, and again by nobody.
"""

from __future__ import annotations

from mongoengine import DateField, DateTimeField, Document, ObjectIdField, StringField

from server.actor import Role
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet

#: As the hazard: admins all, supervisors their jurisdiction's, the firm its own.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class HazardListing(Document):
    audience = AUDIENCE

    #: The hazard's id.
    id = StringField(primary_key=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    listed_at = DateTimeField(required=True)
    #: None: the system listed it (an overdue confirmed major).
    listed_by = ObjectIdField()
    #: Why: `overdue`, or the supervisor's decision.
    reason = StringField(required=True)
    #: The day (Asia/Shanghai) the listing is published (hazards/rectification.yaml).
    published_on = DateField(required=True)
    delisted_at = DateTimeField()

    meta = {"collection": "hazard_listings", "queryset_class": ScopedQuerySet}
