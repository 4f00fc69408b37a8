"""Orders to rectify within a time limit (责令限期整改指令书): which hazards of an inspection an
inspector and a co-inspector order an enterprise to rectify, under which issuing body and
number, and how the order was served (送达).

An order is requested on site and numbered by an outbox job (server.services.hazards.orders);
its id derives from what was requested, so a repeated request or a retried job finds it. Once
numbered it is never edited: a correction is a new numbered order that `supersedes` it.
"""

from __future__ import annotations

from mongoengine import (
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


class OrderState:
    """Requested (awaiting its number), issued (numbered), served (送达 recorded), refused
    (could not be numbered: what it names is gone; it took no number)."""

    REQUESTED = "requested"
    ISSUED = "issued"
    SERVED = "served"
    REFUSED = "refused"
    ALL = (REQUESTED, ISSUED, SERVED, REFUSED)
    #: An enterprise sees an order once it carries a number.
    NUMBERED = (ISSUED, SERVED)


class ServiceKind:
    """How the order reached the enterprise: its representative signed (signature image),
    refused to sign (recorded with a note, SPL Art.68), or acknowledged it in the app."""

    SIGNED = "signed"
    REFUSED = "refused"
    ACKNOWLEDGED = "acknowledged"
    ALL = (SIGNED, REFUSED, ACKNOWLEDGED)


#: Admins see all; supervisors their jurisdiction's; each of the two inspectors theirs; an
#: enterprise's manager the numbered orders addressed to it.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.INSPECTOR: (Match("inspector_id", "user_id"), Match("co_inspector_id", "user_id")),
        Role.ENTERPRISE_MANAGER: (
            Match("enterprise_id", "enterprise_id", when=("state", OrderState.NUMBERED)),
        ),
    }
)


class Order(SyncedDocument):
    audience = AUDIENCE

    id = StringField(primary_key=True, regex=UUID_PATTERN)
    state = StringField(required=True, choices=OrderState.ALL)
    issuing_body_id = ObjectIdField(required=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    inspection_id = StringField(required=True)
    inspector_id = ObjectIdField(required=True)
    co_inspector_id = ObjectIdField(required=True)
    #: Both inspectors as the order names them: [{"user_id", "name", "certificate"}].
    inspectors = ListField(DictField())
    #: Per hazard, as requested and, once numbered, as ordered: {"hazard_id", "item_code",
    #: "term_days", "measures", "description", "legal_basis", "level", "place"}.
    items = ListField(DictField())
    #: Every hazard the order names (queried to keep a hazard in one standing order).
    hazard_ids = ListField(StringField())
    interim_duty = StringField()
    #: The numbered order this one corrects, and on that one the order that corrected it.
    supersedes = StringField()
    superseded_by = StringField()
    #: Issued offline under a number of the device's block: {"block_id", "n"}.
    reserved = DictField(default=None)
    #: `（区）应急责改〔2026〕第7号`; `seq` 7 of the body's `year` (Asia/Shanghai).
    number = StringField()
    seq = IntField()
    year = IntField()
    refused_reason = StringField()
    #: The token of the public check page `/o/<token>` (unguessable, printed as the QR).
    check_token = StringField(required=True, unique=True)
    #: The rendered PDF in the blob store: {"sha256", "size", "rendered_at"}.
    pdf = DictField(default=None)
    #: 送达: {"kind", "at", "by", "device_time", "signature", "representative", "note"}.
    service = DictField(default=None)
    requested_by = ObjectIdField(required=True)
    requested_at = DateTimeField(required=True)
    issued_at = DateTimeField()
    outbox = ListField(StringField())
    version = IntField(required=True, default=1)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "orders",
        "queryset_class": SyncedQuerySet,
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}, "hazard_ids"],
    }
