"""Jurisdictions: the regulator's area (e.g. a district's emergency-management bureau)."""

from __future__ import annotations

from mongoengine import DateTimeField, Document, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet

_OWN = (Match("_id", "jurisdiction_id"),)

#: Admins see all; regulators their own; enterprise users none (they see their firm).
AUDIENCE = Audience({Role.ADMIN: EVERYONE, Role.SUPERVISOR: _OWN, Role.INSPECTOR: _OWN})


class Jurisdiction(Document):
    audience = AUDIENCE

    #: Administrative division code (行政区划代码), six digits, e.g. 310115.
    code = StringField(required=True, unique=True, regex=r"^\d{6}$")
    name = StringField(required=True, min_length=1, max_length=100)
    created_at = DateTimeField(required=True, default=utcnow)

    meta = {"collection": "jurisdictions", "queryset_class": ScopedQuerySet}
