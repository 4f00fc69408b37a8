"""Violations of confined-space entry (server.services.spaces.violations): a denied entry scan
(no valid permit, a failed gas test, any other reason), the attendant leaving with entrants
inside, an overstay, an alarm nobody answering for the entrants acknowledged in time.

A violation is a fact about the enterprise's work, for its manager and the supervisors of its
jurisdiction (workers see their own scans' reasons already). Its id derives from what caused
it (the entry event, the alarm), so a retry records nothing twice. One that meets an M10
Art.13(2) criterion at a firm with H2S/CO poisoning risk names the criterion and, once the
outbox job made it, the candidate hazard of the register. A candidate that repeats an open one
(the same criterion at the same space within `candidate_repeat_window_seconds` of
violations.yaml) makes no second hazard: it names the first (`repeat_of`), which counts its
repeats and when it was last seen.

Synced to the phones of those who see it (sync.collections), so a manager's app has the
violations of the firm's spaces without a separate request.
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
from server.models.audience import EVERYONE, Audience, Match
from server.models.synced import SyncedDocument, SyncedQuerySet


class ViolationKind:
    NO_PERMIT = "no_permit"
    GAS_FAIL = "gas_fail"
    DENIED_SCAN = "denied_scan"
    ATTENDANT_LEFT = "attendant_left"
    OVERSTAY = "overstay"
    ALARM_UNACKNOWLEDGED = "alarm_unacknowledged"
    ALL = (NO_PERMIT, GAS_FAIL, DENIED_SCAN, ATTENDANT_LEFT, OVERSTAY, ALARM_UNACKNOWLEDGED)


#: The enterprise's manager, the supervisors of its jurisdiction, and admins.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class Violation(SyncedDocument):
    audience = AUDIENCE

    #: `<kind>:<what caused it>` (an entry event, an alarm).
    id = StringField(primary_key=True)
    kind = StringField(required=True, choices=ViolationKind.ALL)
    space_id = ObjectIdField(required=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    permit_id = StringField()
    #: Whose scan it was (denied scans), and the entry event or alarm it comes from.
    worker_id = ObjectIdField()
    entry_event_id = ObjectIdField()
    alarm_id = StringField()
    #: The deny codes of the scan (checklists/data/entry_rules.yaml).
    codes = ListField(StringField())
    #: The kind's texts (server/services/spaces/violations.yaml).
    message = DictField()
    #: The M10 Art.13(2) criterion it meets (no_approval, no_attendant, no_ventilation,
    #: no_test), whatever the firm; `poisoning_risk` is the firm's when it was recorded, and
    #: only with both is it a candidate hazard.
    criterion = StringField()
    poisoning_risk = BooleanField()
    hazard_candidate = BooleanField(required=True, default=False)
    #: The register's hazard made of it (set by the outbox job).
    hazard_id = StringField()
    #: A candidate repeating an open one: the first candidate's id (its hazard is `hazard_id`).
    repeat_of = StringField()
    #: On the first candidate: the repeats linked to it, how many, and the latest one's time.
    repeat_ids = ListField(StringField())
    repeats = IntField(default=0)
    last_seen_at = DateTimeField()
    at = DateTimeField(required=True)

    meta = {
        "collection": "violations",
        "queryset_class": SyncedQuerySet,
        "indexes": [
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
            ("enterprise_id", "at"),
            ("jurisdiction_id", "at"),
            ("space_id", "criterion", "at"),
        ],
    }
