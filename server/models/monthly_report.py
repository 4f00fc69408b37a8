"""Monthly self-inspection reports (企业月度隐患自查报告): each enterprise reports once per month
what its own inspections found and rectified; "no hazard found" (a nil return) is a report too.
The jurisdiction's monthly ledger names the enterprises that did not report (seed 003:
每月定期将……排查出的安全隐患形成台账，将……不认真排查隐患的单位进行通报).

The id is `<enterprise>:<YYYY-MM>`: the unique `_id` makes it one per enterprise and month.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    Document,
    IntField,
    ObjectIdField,
    StringField,
)

from server.actor import Role
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet

#: Admins see all; supervisors their jurisdiction's reports; an enterprise's manager its own.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
    }
)


class MonthlyReport(Document):
    audience = AUDIENCE

    id = StringField(primary_key=True)
    enterprise_id = ObjectIdField(required=True)
    jurisdiction_id = ObjectIdField(required=True)
    #: `YYYY-MM`, the month reported on (Asia/Shanghai).
    month = StringField(required=True, regex=r"^\d{4}-(0[1-9]|1[0-2])$")
    #: No hazard found this month (零隐患报告): `hazards_found` is 0.
    nil = BooleanField(required=True)
    hazards_found = IntField(required=True, min_value=0)
    hazards_rectified = IntField(required=True, min_value=0)
    note = StringField()
    submitted_by = ObjectIdField(required=True)
    submitted_at = DateTimeField(required=True)

    meta = {"collection": "monthly_reports", "queryset_class": ScopedQuerySet}
