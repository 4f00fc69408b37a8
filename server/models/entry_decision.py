"""Entry decisions made offline by an attendant's phone at the manhole, pushed later.

The phone decides with the same pure rules as the server (server.services.spaces.entry_rules)
on what it had synced, signs the decision with its device key (server.services.device_keys)
and numbers it with its own gapless sequence. The server keeps the decision as the phone made
it (signed fields untouched), then merges it into the space's roster in (device, sequence)
order and re-checks it against what the server knew then: `flags` say what it found (a
permit suspended meanwhile, the worker inside elsewhere, an exit without entry, an entry that
should have been denied). Synced back to the enterprise's people and the jurisdiction's
supervisors, so a flagged entry is in front of the manager and the supervisor.
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

from server.clock import utcnow
from server.models.entry import AUDIENCE, Action
from server.models.synced import UUID_PATTERN, SyncedDocument, SyncedQuerySet


class MergeState:
    """Where a decision is in the merge: waiting (for an earlier number of its device, or
    for its turn), taken by one merge, or merged."""

    PENDING = "pending"
    MERGING = "merging"
    MERGED = "merged"
    ALL = (PENDING, MERGING, MERGED)


class EntryDecision(SyncedDocument):
    audience = AUDIENCE

    id = StringField(primary_key=True, regex=UUID_PATTERN)
    space_id = ObjectIdField(required=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    permit_id = StringField(required=True)
    worker_id = ObjectIdField(required=True)
    #: The attendant whose phone decided.
    by = ObjectIdField(required=True)
    action = StringField(required=True, choices=Action.ALL)
    #: What the phone decided and why (reason codes of the entry rules).
    allowed = BooleanField(required=True)
    reasons = ListField(StringField())
    gas_limits_version = IntField(required=True)
    #: The device's own number for it (1, 2, ...; gapless per device).
    device_seq = IntField(required=True, min_value=1)
    #: The phone's clock when it decided: a claim, judged within the bounds below.
    device_time = DateTimeField(required=True)
    #: The feed cursor the phone had pulled up to when it decided, as it reported it, and the
    #: sequence and server time that cursor stands for: the decision was made after that.
    synced_through = StringField()
    synced_seq = IntField()
    synced_at = DateTimeField()
    #: Ed25519 signature (base64) by the device's key over the canonical encoding
    #: (server.services.spaces.offline.signed_bytes), and that key's id.
    signature = StringField(required=True)
    key_id = StringField()
    #: Merge and re-check (server.services.spaces.offline_merge).
    merge_state = StringField(required=True, choices=MergeState.ALL, default=MergeState.PENDING)
    #: When a merge took it (a claim older than the lease is a merge that died), the
    #: judgment it stored before applying anything, and the roster change it made.
    merging_at = DateTimeField(null=True)
    merge_plan = DictField(null=True)
    merge_after = DictField(null=True)
    merged_at = DateTimeField()
    #: The moment the server judged the decision at: the phone's clock held within
    #: [after its last sync and its device's previous decision, the server's receipt].
    judged_at = DateTimeField()
    #: The server's re-check with the pure rules on what it knew then.
    server_allowed = BooleanField()
    server_reasons = ListField(DictField())
    #: What the merge found: [{"code", "zh-CN", "en", "source", "detail"}]; `flagged` if any.
    flags = ListField(DictField())
    flagged = BooleanField(default=False)
    #: The roster change it made (its `seq`) and the entry event that logs it.
    roster_seq = IntField()
    entry_event_id = ObjectIdField()
    device_id = StringField()
    received_at = DateTimeField(default=utcnow)
    version = IntField(required=True, default=1)
    mutation_ids = ListField(StringField())
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "entry_decisions",
        "queryset_class": SyncedQuerySet,
        "indexes": [
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
            # One decision per device and number: the same signed decision pushed again
            # under a new id cannot be stored twice, however the pushes race.
            {"fields": ["device_id", "device_seq"], "unique": True},
            ("device_id", "merge_state", "device_seq"),
        ],
    }
