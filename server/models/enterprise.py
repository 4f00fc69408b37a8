"""Enterprises under inspection: identity (统一社会信用代码), industry, address and location."""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    Document,
    IntField,
    ObjectIdField,
    PointField,
    QuerySet,
    StringField,
)

from server.actor import Actor
from server.clock import utcnow


class EnterpriseQuerySet(QuerySet):
    def for_actor(self, actor: Actor) -> QuerySet:
        """Admins see all; regulators their jurisdiction's; enterprise users their own firm."""
        if actor.is_admin:
            return self
        if actor.is_regulator:
            return self.filter(jurisdiction_id=actor.jurisdiction_id)
        if actor.is_enterprise_user:
            return self.filter(id=actor.enterprise_id)
        return self.none()


class Enterprise(Document):
    name = StringField(required=True, min_length=1, max_length=200)
    #: Unified social credit code (GB 32100-2015), validated with its check character.
    credit_code = StringField(required=True, unique=True)
    industry = StringField(required=True, max_length=100)
    address = StringField(required=True, max_length=300)
    #: GeoJSON point, [longitude, latitude] in WGS-84 as phones report it.
    location = PointField(auto_index=False)
    jurisdiction_id = ObjectIdField(required=True)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)
    #: Optimistic-concurrency version; every update increments it.
    version = IntField(required=True, default=1)

    meta = {"collection": "enterprises", "queryset_class": EnterpriseQuerySet}
