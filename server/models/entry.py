"""Who is at a confined space, and every scan made there: the roster and the entry events.

The roster (`Roster`, one document per space) is the one place that says who is inside and
which attendants have checked in. It is changed only by single-document conditional updates
(server.services.spaces.roster): an entry's filter holds "this worker not inside and the
headcount below the maximum", an exit's "this worker inside", so a double entry, an exit
without entry and a headcount above the permit's maximum cannot be written, whatever number of
scanners race; `seq` counts the changes, and every entry event of a change carries the value
it made, so the event log replays the roster exactly. The roster is synced (sync.collections):
the attendant's phone holds it offline to decide entries at the manhole.

`EntryEvent` records every scan, allowed or denied, with every reason, under the nonce of its
request (`nonce`, unique): a replay finds its nonce taken and is refused. An allowed scan's
event is written before its roster change, as the claim of its nonce (`allowed` null until
the change is made or refused), so a replay never changes the roster.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    IntField,
    ListField,
    ObjectIdField,
    StringField,
)

from server.actor import Role
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet
from server.models.synced import SyncedDocument, SyncedQuerySet

#: The enterprise's people, the supervisors of its jurisdiction, and admins.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
        Role.WORKER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class Action:
    """What a scan asks for."""

    ENTER = "enter"
    EXIT = "exit"
    CHECK_IN = "attendant_check_in"
    CHECK_OUT = "attendant_check_out"
    ALL = (ENTER, EXIT, CHECK_IN, CHECK_OUT)


class Roster(SyncedDocument):
    audience = AUDIENCE

    #: The space's id.
    id = ObjectIdField(primary_key=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    #: Workers inside, and how many (kept equal by every update).
    inside = ListField(ObjectIdField())
    headcount = IntField(required=True, default=0, min_value=0)
    #: The permit each worker inside entered on: {worker id: permit id}.
    entered_on = DictField()
    #: Attendants checked in at the space.
    attendants = ListField(ObjectIdField())
    #: When the space last became empty after people had been inside.
    emptied_at = DateTimeField()
    #: Open alarms at the space (server.models.alarm): nobody enters while one is open.
    alarms = ListField(StringField())
    #: Changes made so far; each entry event of a change carries the value it made.
    seq = IntField(required=True, default=0)
    #: The latest offline decisions merged into it (server.services.spaces.offline_merge):
    #: a merge resumed after a crash finds its change made and makes it no second time.
    merged = ListField(StringField())
    #: The outbox tokens of the latest scans' changes, each its scan entry's witness
    #: (server.services.spaces.scan_log).
    outbox = ListField(StringField())

    meta = {
        "collection": "rosters",
        "queryset_class": SyncedQuerySet,
        "indexes": ["sync_seq"],
    }


class EntryEvent(Document):
    audience = AUDIENCE

    #: None for a token that names no space of ours (forged or malformed): admins see those.
    space_id = ObjectIdField()
    enterprise_id = ObjectIdField()
    jurisdiction_id = ObjectIdField()
    permit_id = StringField()
    action = StringField(required=True, choices=Action.ALL)
    #: Whose entry or check-in it is, and who scanned (the worker, or an attendant for them).
    worker_id = ObjectIdField(required=True)
    by = ObjectIdField(required=True)
    device_id = StringField()
    #: `<user id>:<device id>:<nonce>` of an online scan's request (offline decisions: none).
    nonce = StringField()
    #: Null while an allowed scan's roster change is being made (server.services.spaces.scan).
    allowed = BooleanField()
    #: [{"code", "severity", "zh-CN", "en", "source", "detail"}]
    reasons = ListField(DictField())
    #: The roster's `seq` and headcount after the change this scan made (allowed scans).
    roster_seq = IntField()
    headcount = IntField()
    #: {"longitude", "latitude", "accuracy_m"} as the device reported it.
    fix = DictField(default=None)
    label_version = IntField()
    #: The gas-limits version the rules judged by (checklists.gas_versions).
    gas_limits_version = IntField()
    at = DateTimeField(required=True)
    #: A decision the attendant's phone made offline (server.models.entry_decision): its id,
    #: the phone's clock, and what the merge flagged (empty: nothing).
    offline_decision_id = StringField()
    device_time = DateTimeField()
    flags = ListField(DictField())

    meta = {
        "collection": "entry_events",
        "queryset_class": ScopedQuerySet,
        "indexes": [
            ("space_id", "at"),
            "permit_id",
            # Unique: the replay check is one indexed insert, also on the embedded server.
            {"fields": ["nonce"], "unique": True, "sparse": True},
        ],
    }
