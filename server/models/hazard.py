"""Hazards (隐患): one register fed by failed checklist items, enterprises' self-reports and
findings made by hand, each with its place, evidence, level and lifecycle state.

The lifecycle itself is data (server.services.hazards.states); this module only stores a
hazard. Ids are UUIDs: a hazard found by an inspection gets one derived from the inspection and
the item (so a retried job finds the hazard it made), a self-report the one its phone made.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match
from server.models.synced import UUID_PATTERN, SyncedDocument, SyncedQuerySet


class Source:
    """Where a hazard came from (one register fed by several channels)."""

    INSPECTION = "inspection"
    SELF_REPORT = "self_report"
    MANUAL = "manual"
    #: A public report (群众举报) a supervisor verified (server.services.hazards.public_reports).
    PUBLIC_REPORT = "public_report"
    #: A violation at a confined space meeting an M10 Art.13(2) criterion
    #: (server.services.spaces.violations): a major to be confirmed by a supervisor.
    CONFINED_SPACE = "confined_space"
    ALL = (INSPECTION, SELF_REPORT, MANUAL, PUBLIC_REPORT, CONFINED_SPACE)


class Level:
    """General or major (重大事故隐患); a major may still await a supervisor's confirmation
    (`level_confirmed` false) when checklists v2 marks the criterion unsure."""

    GENERAL = "general"
    MAJOR = "major"
    ALL = (GENERAL, MAJOR)


#: Admins see all; supervisors their jurisdiction's hazards; inspectors those they found; an
#: enterprise's manager those of their enterprise (they must rectify them).
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.INSPECTOR: (Match("inspector_id", "user_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class Hazard(SyncedDocument):
    audience = AUDIENCE

    id = StringField(primary_key=True, regex=UUID_PATTERN)
    source = StringField(required=True, choices=Source.ALL)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    #: The inspector responsible for following it (who found it; none for a self-report).
    inspector_id = ObjectIdField()
    #: Who recorded it (an inspector, a supervisor, the enterprise's manager).
    reported_by = ObjectIdField()
    #: The inspection that found it, and every correcting record that carried it forward.
    inspection_id = StringField()
    inspection_ids = ListField(StringField())
    checklist_code = StringField()
    checklist_version = IntField()
    item_code = StringField()
    #: `<checklist>:<version>:<item>` of the failed item, and of every item of earlier
    #: versions it continues (checklists v2 `continues`): repeats are found along it.
    item_key = StringField()
    item_lineage = ListField(StringField())
    description = StringField(required=True)
    #: Legal basis as the item states it under the inspection's regime.
    legal_basis = ListField(StringField())
    level = StringField(required=True, choices=Level.ALL)
    level_confirmed = BooleanField(default=True)
    #: The answer's severity as judged (`major`, `major_to_confirm`, `general`).
    severity = StringField()
    #: {"location": {"longitude", "latitude", "accuracy_m"}, "space_id", "text"}
    place = DictField()
    photos = ListField(StringField())
    state = StringField(required=True)
    #: 挂牌督办: none, listed, delisted; and when each was published.
    listing = StringField(default="none")
    listed_at = DateTimeField()
    delisted_at = DateTimeField()
    deadline = DateTimeField()
    #: 五落实 plan of a major: measures, funds, deadline, responsible person, contingency.
    plan = DictField(default=None)
    interim_measures = StringField()
    #: [{"kind": 提醒…曝光, "note", "by", "at"}]
    escalations = ListField(DictField())
    #: 一案双罚: {"firm": ..., "persons": [...]}
    penalty = DictField(default=None)
    #: The re-inspection at the place: {"location", "label", "photos", "note", "by", "role",
    #: "at"} (server.services.hazards.closeout judged it at the place).
    reinspection = DictField(default=None)
    #: A major's close-out application by the firm: {"text", "by", "at"} (16号令 Art.18).
    closeout_application = DictField(default=None)
    #: Every transition taken: {"action", "from", "to", "by", "role", "at", "reason"}.
    history = ListField(DictField())
    #: The earliest hazard this one repeats (same item, same enterprise, within the period),
    #: and on that earliest hazard every repeat of it.
    repeat_of = StringField()
    repeat_ids = ListField(StringField())
    withdrawn_reason = StringField()
    #: The confined-space violation it was made of (source `confined_space`).
    violation_id = StringField()
    device_id = StringField()
    received_at = DateTimeField(default=utcnow)
    version = IntField(required=True, default=1)
    mutation_ids = ListField(StringField())
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "hazards",
        "queryset_class": SyncedQuerySet,
        # Compare-and-set updates filter on exactly (_id, sync_rev), answered from this index.
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}],
    }
