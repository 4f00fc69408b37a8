"""Enterprises under inspection: identity (统一社会信用代码), industry, address and location."""

from __future__ import annotations

from mongoengine import (
    DateTimeField,
    IntField,
    ObjectIdField,
    PointField,
    StringField,
)

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match
from server.models.synced import SyncedDocument, SyncedQuerySet

_JURISDICTION = (Match("jurisdiction_id", "jurisdiction_id"),)
_OWN_FIRM = (Match("_id", "enterprise_id"),)

#: Admins see all; regulators their jurisdiction's firms; enterprise users their own firm.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: _JURISDICTION,
        Role.INSPECTOR: _JURISDICTION,
        Role.ENTERPRISE_MANAGER: _OWN_FIRM,
        Role.WORKER: _OWN_FIRM,
    }
)


class Enterprise(SyncedDocument):
    audience = AUDIENCE

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
        "queryset_class": SyncedQuerySet,
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}],
    }
