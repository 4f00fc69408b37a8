"""Blocks of order numbers reserved for one inspector's device (like a pre-numbered booklet):
synced down, used offline by orders issued without signal, confirmed when those orders sync,
or voided (作废) with a reason. Every number of a block is used by exactly one order, voided,
or still reserved; none is reused or skipped."""

from __future__ import annotations

from mongoengine import DateTimeField, DictField, IntField, ObjectIdField, StringField

from server.actor import Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match
from server.models.synced import UUID_PATTERN, SyncedDocument, SyncedQuerySet


class NumberState:
    RESERVED = "reserved"
    USED = "used"
    VOIDED = "voided"
    ALL = (RESERVED, USED, VOIDED)


#: Admins see all; supervisors their jurisdiction's blocks; an inspector their own.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.INSPECTOR: (Match("inspector_id", "user_id"),),
    }
)


class NumberBlock(SyncedDocument):
    audience = AUDIENCE

    #: Chosen by the phone, so a retried reservation finds its block.
    id = StringField(primary_key=True, regex=UUID_PATTERN)
    issuing_body_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    inspector_id = ObjectIdField(required=True)
    device_id = StringField(required=True)
    year = IntField(required=True)
    size = IntField(required=True, min_value=1)
    #: By number (as a string key): {"n", "number", "state", "order_id", "reason", "at"}.
    numbers = DictField()
    rev = IntField(required=True, default=1)
    version = IntField(required=True, default=1)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "number_blocks",
        "queryset_class": SyncedQuerySet,
        "indexes": ["sync_seq"],
    }
