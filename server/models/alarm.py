"""Alarms at a confined space that order the entrants out: the attendant left while entrants
were inside, a monitoring reading out of its limits while occupied, an overstay past the
permit's window (M13 Art.15; GB30871 4.10f, 6.5; GB46768 6.2.5).

An alarm is also its notification: it names its recipients (the attendants and entrants of
the permit and the enterprise's managers) and reaches their phones through the change feed
(sync.collections); each acknowledgement is recorded on it. It stays open until an attendant
of the permit or the enterprise's manager acknowledges it, and while it is open the space's
roster lists it, so no one else enters (ALARM). Its id derives from what raised it, so a retry
raises nothing twice.
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

from server.clock import utcnow
from server.models.entry import AUDIENCE
from server.models.synced import SyncedDocument, SyncedQuerySet


class AlarmKind:
    ATTENDANT_LEFT = "attendant_left"
    MONITORING = "monitoring_out_of_limits"
    OVERSTAY = "overstay"
    ALL = (ATTENDANT_LEFT, MONITORING, OVERSTAY)


class AlarmStatus:
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ALL = (OPEN, ACKNOWLEDGED)


class Alarm(SyncedDocument):
    audience = AUDIENCE

    #: `<kind>:<what raised it>` (a roster change, a record, a permit).
    id = StringField(primary_key=True)
    kind = StringField(required=True, choices=AlarmKind.ALL)
    space_id = ObjectIdField(required=True)
    permit_id = StringField()
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    #: Who was inside when it was raised: they are ordered out.
    inside = ListField(ObjectIdField())
    recipients = ListField(ObjectIdField())
    #: The reason's texts (checklists/data/entry_rules.yaml) and what it is about.
    message = DictField()
    detail = StringField()
    status = StringField(required=True, choices=AlarmStatus.ALL, default=AlarmStatus.OPEN)
    #: [{"by", "at"}], every acknowledgement in the order they came.
    acknowledgements = ListField(DictField())
    raised_at = DateTimeField(required=True, default=utcnow)
    version = IntField(required=True, default=1)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)

    meta = {
        "collection": "alarms",
        "queryset_class": SyncedQuerySet,
        "indexes": [
            "sync_seq",
            {"fields": ["id", "sync_rev"], "unique": True},
            # What the pages' short polls ask for (server.api.alarms).
            ("enterprise_id", "updated_at"),
            ("jurisdiction_id", "updated_at"),
        ],
    }
