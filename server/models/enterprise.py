"""Enterprises under inspection: identity (统一社会信用代码), industry, address and location."""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    IntField,
    ObjectIdField,
    PointField,
    StringField,
)

from server.actor import Actor
from server.clock import utcnow
from server.models.synced import SyncedDocument, SyncedQuerySet


class EnterpriseQuerySet(SyncedQuerySet):
    def for_actor(self, actor: Actor) -> SyncedQuerySet:
        """Admins see all; regulators their jurisdiction's; enterprise users their own firm."""
        if actor.is_admin:
            return self
        if actor.is_regulator:
            return self.filter(jurisdiction_id=actor.jurisdiction_id)
        if actor.is_enterprise_user:
            return self.filter(id=actor.enterprise_id)
        return self.none()


def feed_scope(raw: dict) -> dict:
    """Who may see this enterprise, as stored with each feed entry (see `feed_visible`)."""
    return {"j": raw.get("jurisdiction_id"), "e": raw["_id"]}


def feed_visible(actor: Actor, scope: dict) -> bool:
    """The rule of `EnterpriseQuerySet.for_actor`, on a feed entry's scope."""
    if actor.is_admin:
        return True
    if actor.is_regulator:
        return scope.get("j") == actor.jurisdiction_id
    if actor.is_enterprise_user:
        return scope.get("e") == actor.enterprise_id
    return False


class Enterprise(SyncedDocument):
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

    meta = {
        "collection": "enterprises",
        "queryset_class": EnterpriseQuerySet,
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}],
    }
