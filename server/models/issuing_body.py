"""Issuing bodies (发文机关): the regulator in whose name orders to rectify are issued, with the
format of their document numbers and who hears an appeal, kept as data an admin sets."""

from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, Document, ObjectIdField, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet

#: A number format names the year and the number and nothing else: `{year}`, `{n}`.
PLACEHOLDERS = ("{year}", "{n}")

_OWN = (Match("jurisdiction_id", "jurisdiction_id"),)

#: Admins see all; regulators their jurisdiction's bodies (enterprises read the name on orders).
AUDIENCE = Audience({Role.ADMIN: EVERYONE, Role.SUPERVISOR: _OWN, Role.INSPECTOR: _OWN})


class IssuingBody(Document):
    audience = AUDIENCE

    name = StringField(required=True, min_length=1, max_length=100)
    jurisdiction_id = ObjectIdField(required=True)
    #: e.g. `（区）应急责改〔{year}〕第{n}号`: numbers are gapless per body and year.
    number_format = StringField(required=True, min_length=1, max_length=100)
    #: 行政复议机关 and 人民法院 the remedy clause names (15号令 Art.17 order template).
    reconsideration_body = StringField(required=True, min_length=1, max_length=100)
    court = StringField(required=True, min_length=1, max_length=100)
    active = BooleanField(required=True, default=True)
    created_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "issuing_bodies",
        "queryset_class": ScopedQuerySet,
        "indexes": ["jurisdiction_id"],
    }
