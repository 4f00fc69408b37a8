"""Entry permits of confined spaces (作业审批): a header per permit and its records beside it.

The header holds what the applicant and the approver decide: the space, the work, the time
window, the approver and in which capacity they approved (the principal, or a written
delegate whose delegation is named; GB 46768 5.2.1 requires one of them where the space may
hold H2S, CO or CO2), the attendants (监护人), the authorised entrants (contractors' workers of
an outsourced job among them, with their employer), the maximum headcount and the state.

Everything done on the way to and during the work is a `PermitRecord`: briefing, isolation,
unlock, PPE and rescue-kit confirmations, Ex equipment, ventilation start and stop, gas tests
and monitoring readings. Records are append-only, each its own document with an id the phone
made, so the four people who fill in a permit (applicant, attendant, gas tester, approver),
each often offline, never edit the same document and never conflict. Both are synced
(sync.collections): the attendant's phone holds the permit and its records offline. Ids are
UUIDs made by phones (or by the server for a REST create).
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    FloatField,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match
from server.models.synced import UUID_PATTERN, SyncedDocument, SyncedQuerySet


class PermitStatus:
    """The states of a permit (the transitions between them: server.services.spaces.permits)."""

    DRAFT = "draft"
    APPROVED = "approved"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"
    CANCELLED = "cancelled"
    ALL = (DRAFT, APPROVED, ACTIVE, SUSPENDED, CLOSED, CANCELLED)
    #: States in which the entry rules judge a permit at all.
    IN_FORCE = (APPROVED, ACTIVE, SUSPENDED)


class ApproverCapacity:
    """In which capacity the approver signed (GB 46768 5.2.1)."""

    PRINCIPAL = "principal"
    DELEGATE = "delegate"
    OTHER = "other"
    ALL = (PRINCIPAL, DELEGATE, OTHER)


#: Admins see all; supervisors the permits of their jurisdiction's firms; the enterprise's
#: people (its manager, its workers: attendants, testers, entrants) those of their firm.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
        Role.WORKER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class Permit(SyncedDocument):
    audience = AUDIENCE

    id = StringField(primary_key=True, regex=UUID_PATTERN)
    space_id = ObjectIdField(required=True)
    #: The space's, copied at creation.
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    #: The regime and altitude of the enterprise when the permit was made: the form it was
    #: filled in under is the one it is judged under.
    regime = StringField(required=True)
    altitude_m = FloatField()
    work = StringField(required=True, min_length=1, max_length=500)
    #: Who applied (the work leader or the manager).
    applicant_id = ObjectIdField(required=True)
    valid_from = DateTimeField(required=True)
    valid_to = DateTimeField(required=True)
    #: User ids of the attendants (监护人); at least one.
    attendants = ListField(ObjectIdField())
    #: [{"user_id", "name", "employer"}]: `employer` names the contractor of an outsourced job.
    entrants = ListField(DictField())
    #: The user ids of `entrants`, for the rules and for queries.
    entrant_ids = ListField(ObjectIdField())
    max_headcount = IntField(required=True, min_value=1, max_value=100)
    status = StringField(required=True, choices=PermitStatus.ALL, default=PermitStatus.DRAFT)
    approver_id = ObjectIdField()
    approver_capacity = StringField(choices=ApproverCapacity.ALL)
    #: The written delegation a delegate approved under (its number or title).
    delegation_ref = StringField(max_length=200)
    approved_at = DateTimeField()
    #: Every transition taken: {"action", "from", "to", "by", "at", "reason"}.
    history = ListField(DictField())
    device_id = StringField()
    received_at = DateTimeField(default=utcnow)
    version = IntField(required=True, default=1)
    mutation_ids = ListField(StringField())
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "permits",
        "queryset_class": SyncedQuerySet,
        "indexes": [
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
            ("space_id", "status"),
        ],
    }

    @property
    def approved_by_principal(self) -> bool:
        return approved_by_principal(self.approver_capacity, self.delegation_ref)


def approved_by_principal(capacity: str | None, delegation_ref: str | None) -> bool:
    """The principal approved, or a delegate under a written delegation they named."""
    if capacity == ApproverCapacity.PRINCIPAL:
        return True
    return capacity == ApproverCapacity.DELEGATE and bool(delegation_ref)


class PermitRecord(SyncedDocument):
    """One record of a permit (kinds: server.services.spaces.entry_rules.Kind)."""

    audience = AUDIENCE

    id = StringField(primary_key=True, regex=UUID_PATTERN)
    permit_id = StringField(required=True, regex=UUID_PATTERN)
    space_id = ObjectIdField(required=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    kind = StringField(required=True)
    #: Who recorded it (the attendant confirms unlock, PPE and rescue kit; the tester a test).
    by = ObjectIdField(required=True)
    #: When it happened, as the recorder's device says (the rules judge by it), and when the
    #: server received it (order by this one).
    at = DateTimeField(required=True)
    #: Gas tests and monitoring: the instrument (make, model, serial) and the readings, by
    #: gas code: {"O2": {"value": 20.8, "unit": "%VOL"}, "H2S": {"value": 1, "unit": "ppm"}}.
    instrument = StringField(max_length=200)
    readings = DictField()
    #: Where it was taken (a gas test: upper, middle, lower), and free words.
    location = StringField(max_length=200)
    note = StringField(max_length=1000)
    confirmed = BooleanField(default=True)
    device_id = StringField()
    received_at = DateTimeField(default=utcnow)
    version = IntField(required=True, default=1)
    mutation_ids = ListField(StringField())
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "permit_records",
        "queryset_class": SyncedQuerySet,
        "indexes": [
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
            "permit_id",
        ],
    }
