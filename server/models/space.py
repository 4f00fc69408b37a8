"""Confined spaces (有限空间): one enterprise's ledger (台账), a document per space.

What a space holds decides what entering it needs: the gases it may hold (codes of
checklists/data/gas_limits.yaml) decide the gas tests required and, for H2S/CO/CO2, who may
approve a permit; the PPE and rescue equipment listed are what the attendant confirms before
entry (M13 Art.14 ¶2; GB 46768 5.12); an explosive space needs Ex-rated equipment (M13
Art.14). The sign photo (GB 46768 and M13 Art.11: a warning sign at every space) arrives as a
photo linked with kind `space`; the label version is that of the QR label currently valid
(server.services.spaces.labels): 0 before the first label is issued. Synced to phones
(sync.collections): the attendant's app holds its enterprise's ledger offline.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    FloatField,
    IntField,
    ListField,
    ObjectIdField,
    PointField,
    StringField,
)

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match
from server.models.synced import SyncedDocument, SyncedQuerySet


class SpaceType:
    """The kinds of confined space M13 Art.2 names, as the ledger files them."""

    #: 地下有限空间: sewers, pits, wells, culverts, cable tunnels.
    UNDERGROUND = "underground"
    #: 地上有限空间: silos, bins, stacks, closed rooms.
    ABOVE_GROUND = "above_ground"
    #: 密闭设备: tanks, vessels, reactors, boilers, pipes.
    ENCLOSED_EQUIPMENT = "enclosed_equipment"
    ALL = (UNDERGROUND, ABOVE_GROUND, ENCLOSED_EQUIPMENT)


class SpaceStatus:
    """In use (entries are judged), closed off (no entry), or retired from the ledger."""

    ACTIVE = "active"
    CLOSED = "closed"
    RETIRED = "retired"
    ALL = (ACTIVE, CLOSED, RETIRED)


#: Admins see all; regulators the spaces of their jurisdiction's firms; enterprise users
#: those of their own firm.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.INSPECTOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
        Role.WORKER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class Space(SyncedDocument):
    audience = AUDIENCE

    enterprise_id = ObjectIdField(required=True)
    #: The enterprise's, copied at creation (an enterprise never changes jurisdiction here).
    jurisdiction_id = ObjectIdField(required=True)
    #: The enterprise's own code for it (printed on the label), unique within the enterprise.
    code = StringField(required=True, min_length=1, max_length=40)
    name = StringField(required=True, min_length=1, max_length=100)
    type = StringField(required=True, choices=SpaceType.ALL)
    #: GeoJSON point of the entrance, [longitude, latitude] in WGS-84.
    location = PointField(auto_index=False)
    #: How far from `location` a usable fix still counts as "at the space".
    geofence_radius_m = FloatField(min_value=1, max_value=5000, default=50)
    depth_m = FloatField(min_value=0, max_value=2000)
    #: Underground: a phone there often has no usable fix (the attendant's check-in proves
    #: presence instead).
    underground = BooleanField(default=False)
    #: Gas codes of gas_limits.yaml beyond the minimum set the space may hold.
    gases = ListField(StringField())
    ppe = ListField(StringField(max_length=100))
    rescue_equipment = ListField(StringField(max_length=100))
    explosive = BooleanField(default=False)
    #: SHA-256 of the sign photo (the latest photo linked to the space), and when it arrived.
    sign_photo = StringField()
    sign_photo_at = DateTimeField()
    status = StringField(required=True, choices=SpaceStatus.ALL, default=SpaceStatus.ACTIVE)
    #: Version of the label currently valid (0: none issued); a new label retires the old.
    label_version = IntField(required=True, default=0, min_value=0)
    label_issued_at = DateTimeField()
    note = StringField(max_length=1000)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)
    #: Optimistic-concurrency version; every update increments it.
    version = IntField(required=True, default=1)

    meta = {
        "collection": "spaces",
        "queryset_class": SyncedQuerySet,
        "indexes": [
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
            {"fields": ["enterprise_id", "code"], "unique": True},
        ],
    }
