"""The precomputed figures of supervision (server.services.figures): cells of counts kept
current from the change feed, and where each hazard or inspection is counted.

A cell counts the hazards of one jurisdiction × enterprise × campaign × level found in one
month, or the submitted inspections of one jurisdiction × enterprise × inspector in one month.
It keeps every member's contribution (`members`: id → a short list, with the revision of the
document it was computed from) and the `totals` derived from them, so that writing a member
again is harmless and a total is never incremented blindly. A place (`figure_places`) lists the
cells a document may be counted in, so that a hazard moved to another cell (its level changed)
leaves the old one.
"""

from __future__ import annotations

from mongoengine import DictField, Document, IntField, ListField, ObjectIdField, StringField

from server.actor import Role
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet

HAZARDS, INSPECTIONS = "hazards", "inspections"

#: Admins read any figures; supervisors their jurisdiction's; an enterprise's manager its own.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class FigureCell(Document):
    audience = AUDIENCE

    #: `h|<jurisdiction>|<enterprise>|<campaign>|<level>|<month>` or
    #: `i|<jurisdiction>|<enterprise>|<inspector>|<month>` (server.services.figures.contribution).
    id = StringField(primary_key=True)
    kind = StringField(required=True, choices=(HAZARDS, INSPECTIONS))
    jurisdiction_id = ObjectIdField(required=True)
    enterprise_id = ObjectIdField(required=True)
    #: `YYYY-MM` of the day found (hazards) or submitted (inspections), Asia/Shanghai.
    month = StringField(required=True)
    campaign = StringField()
    level = StringField()
    inspector_id = ObjectIdField()
    members = DictField()
    totals = DictField()
    #: Incremented by every write: changes compare-and-set on exactly (_id, rev).
    rev = IntField(required=True, default=0)

    meta = {
        "collection": "figure_cells",
        "queryset_class": ScopedQuerySet,
        "indexes": [{"fields": ["id", "rev"], "unique": True}],
    }


class FigurePlace(Document):
    #: `<collection>:<document id>`.
    id = StringField(primary_key=True)
    #: Cells the document may be counted in: its current one, and during a move the old one.
    cells = ListField(StringField())

    meta = {"collection": "figure_places"}
