"""Enterprises under inspection: identity (统一社会信用代码), industry, address and location,
and what decides the rules it is inspected under: its regime (from its industry code, or an
admin's override with a reason), whether it has confined spaces, its site altitude and whether
its confined-space work carries H2S/CO poisoning risk (checklists.regime)."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    FloatField,
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
    #: Code of the controlled industry list (checklists/data/industries.yaml; GB/T 4754).
    industry_code = StringField(max_length=10)
    #: The regime it is inspected under: its industry's, or an admin's override.
    regime = StringField(choices=("industrial", "hazchem", "construction"))
    #: {"regime", "reason", "by", "at"} when an admin set the regime against the industry's.
    regime_override = DictField(default=None)
    #: Whether it has confined spaces at all (the denominator of coverage figures); None: unknown.
    has_confined_spaces = BooleanField()
    #: Site altitude in metres (plateau gas limits); None: unknown, judged as below 2000 m.
    altitude_m = FloatField(min_value=-500, max_value=9000)
    #: Its confined-space work carries H2S/CO poisoning risk (M10 Art.13), as its inspections
    #: are judged under: derived from its ledger once a space is in use there (a space that
    #: may hold one of the gases of checklists/data/industries.yaml), else as an admin stated
    #: it. None: unknown (majors are then to be confirmed).
    poisoning_risk = BooleanField()
    #: Where `poisoning_risk` comes from: "ledger" or "admin" (None: nobody said).
    poisoning_risk_from = StringField(choices=("ledger", "admin"))
    #: The admin's statement, kept for when the ledger has no space in use.
    poisoning_risk_stated = BooleanField()
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
