"""Jurisdictions: the regulator's area (e.g. a district's emergency-management bureau)."""

from __future__ import annotations

from mongoengine import DateTimeField, Document, QuerySet, StringField

from server.actor import Actor
from server.clock import utcnow


class JurisdictionQuerySet(QuerySet):
    def for_actor(self, actor: Actor) -> QuerySet:
        """Admins see all; regulators their own; enterprise users none (they see their firm)."""
        if actor.is_admin:
            return self
        if actor.is_regulator:
            return self.filter(id=actor.jurisdiction_id)
        return self.none()


class Jurisdiction(Document):
    #: Administrative division code (行政区划代码), six digits, e.g. 310115.
    code = StringField(required=True, unique=True, regex=r"^\d{6}$")
    name = StringField(required=True, min_length=1, max_length=100)
    created_at = DateTimeField(required=True, default=utcnow)

    meta = {"collection": "jurisdictions", "queryset_class": JurisdictionQuerySet}
