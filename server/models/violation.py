"""Violations of confined-space entry (server.services.spaces.violations): a denied entry scan
(no valid permit, a failed gas test, any other reason), the attendant leaving with entrants
inside, an overstay, an alarm nobody answering for the entrants acknowledged in time.

A violation is a fact about the enterprise's work, for its manager and the supervisors of its
jurisdiction (workers see their own scans' reasons already). Its id derives from what caused
it (the entry event, the alarm), so a retry records nothing twice. One that meets an M10
Art.13(2) criterion at a firm with H2S/CO poisoning risk names the criterion and, once the
outbox job made it, the candidate hazard of the register.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    ListField,
    ObjectIdField,
    StringField,
)

from server.actor import Role
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet


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


class Violation(Document):
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
    at = DateTimeField(required=True)

    meta = {
        "collection": "violations",
        "queryset_class": ScopedQuerySet,
        "indexes": [("enterprise_id", "at"), ("jurisdiction_id", "at")],
    }
