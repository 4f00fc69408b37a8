"""An enterprise's monthly self-inspection report (server.models.monthly_report): submitted by
its manager once per month, idempotent, audited; and which enterprises of a jurisdiction did
not report for a month (seed 003: the monthly ledger names the units that do not report).

Submitting the same report again returns the one stored (a retried request); a different one
for a month already reported is a conflict: a report, once in, is evidence and is not rewritten.
"""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from server.actor import Actor, Role
from server.errors import Conflict, Forbidden, RuleViolation
from server.models.enterprise import Enterprise
from server.models.monthly_report import MonthlyReport
from server.services.audit import record
from server.services.figures.contribution import month_of

#: What makes two submissions the same report.
CONTENT = ("month", "nil", "hazards_found", "hazards_rectified", "note")


def report_id(enterprise_id, month: str) -> str:
    return f"{enterprise_id}:{month}"


def submit(
    actor: Actor,
    *,
    month: str,
    hazards_found: int,
    hazards_rectified: int,
    note: str | None = None,
    now: datetime,
) -> tuple[dict, bool]:
    """Record the actor's enterprise's report for `month`; returns it (raw) and whether this
    call stored it. Forbidden but for an enterprise's manager; RuleViolation for a month still
    to come or more rectified than found; Conflict when another report for the month is in."""
    if actor.role is not Role.ENTERPRISE_MANAGER or actor.enterprise_id is None:
        raise Forbidden("the monthly report is submitted by the enterprise's manager")
    reasons = []
    if month > month_of(now):
        reasons.append({"code": "MONTH_AHEAD", "month": month})
    if hazards_rectified > hazards_found:
        reasons.append({"code": "MORE_RECTIFIED_THAN_FOUND"})
    if reasons:
        raise RuleViolation("the report cannot be accepted", reasons=reasons)
    enterprise = Enterprise._get_collection().find_one(
        {"_id": ObjectId(actor.enterprise_id)}, {"jurisdiction_id": 1}
    )
    if enterprise is None:
        raise Forbidden("the caller's enterprise is not registered")
    doc = {
        "_id": report_id(enterprise["_id"], month),
        "enterprise_id": enterprise["_id"],
        "jurisdiction_id": enterprise["jurisdiction_id"],
        "month": month,
        "nil": hazards_found == 0,
        "hazards_found": hazards_found,
        "hazards_rectified": hazards_rectified,
        "note": note or None,
        "submitted_by": actor.user_id,
        "submitted_at": now,
    }
    collection = MonthlyReport._get_collection()
    try:
        collection.insert_one(doc)
    except DuplicateKeyError:
        stored = collection.find_one({"_id": doc["_id"]})
        if any(stored.get(k) != doc[k] for k in CONTENT):
            raise Conflict(f"the report for {month} is in already") from None
        _audit(actor, stored, now)  # a retry after a crash before the event: the key dedups
        return stored, False
    _audit(actor, doc, now)
    return doc, True


def _audit(actor: Actor, doc: dict, now: datetime) -> None:
    record.record(
        actor,
        "monthly_report.submit",
        "monthly_report",
        doc["_id"],
        before=None,
        after=doc,
        now=now,
        chain=doc["jurisdiction_id"],
        key=f"monthly_report.submit:{doc['_id']}",
    )


def visible(actor: Actor, **filters):
    """The reports `actor` may read, newest month first (a queryset)."""
    return MonthlyReport.objects.for_actor(actor).filter(**filters).order_by("-month", "id")


def reported(jurisdiction_id: ObjectId, month: str) -> dict[ObjectId, dict]:
    """The reports of a jurisdiction's enterprises for `month`, by enterprise."""
    found = MonthlyReport._get_collection().find(
        {"jurisdiction_id": jurisdiction_id, "month": month}
    )
    return {r["enterprise_id"]: r for r in found.batch_size(5000)}
