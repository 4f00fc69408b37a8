"""Issuing bodies (发文机关) kept by admins: in whose name a jurisdiction's orders are issued,
how their numbers read, and who hears an appeal (named by the remedy clause)."""

from __future__ import annotations

from datetime import datetime

from server.actor import Actor
from server.errors import Forbidden, NotFound, RuleViolation
from server.models.issuing_body import IssuingBody
from server.models.jurisdiction import Jurisdiction
from server.models.scoping import get_or_404, parse_object_id
from server.services.audit import record
from server.services.hazards import numbering


def create(actor: Actor, *, now: datetime, jurisdiction_id, number_format: str, **fields):
    """A new issuing body of a jurisdiction (admins only)."""
    if not actor.is_admin:
        raise Forbidden("only an admin keeps issuing bodies")
    jurisdiction = get_or_404(Jurisdiction.objects, jurisdiction_id, "jurisdiction")
    problems = numbering.format_problems(number_format)
    if problems:
        raise RuleViolation(
            "number_format: " + "; ".join(problems),
            errors=[{"field": "number_format", "messages": problems}],
        )
    body = IssuingBody(
        jurisdiction_id=jurisdiction.id, number_format=number_format, created_at=now, **fields
    )
    body.save(force_insert=True)
    record.record(
        actor,
        "issuing_body.create",
        "issuing_body",
        body.id,
        before=None,
        after=body,
        now=now,
        chain=body.jurisdiction_id,
        key=f"issuing_body.create:{body.id}",
    )
    return body


def visible(actor: Actor):
    return IssuingBody.objects.for_actor(actor).order_by("name", "id")


def read(actor: Actor, body_id) -> IssuingBody:
    return get_or_404(IssuingBody.objects.for_actor(actor), body_id, "issuing body")


def for_jurisdiction(jurisdiction_id, body_id=None) -> IssuingBody:
    """The body an order of `jurisdiction_id` is issued by: the one named, else the
    jurisdiction's only active one. RuleViolation when there is none to choose."""
    found = IssuingBody.objects(jurisdiction_id=jurisdiction_id, active=True)
    if body_id is not None:
        body = found.filter(id=parse_object_id(body_id, "issuing body")).first()
        if body is None:
            raise NotFound(f"issuing body {body_id} not found")
        return body
    bodies = list(found.order_by("id").limit(2))
    if len(bodies) != 1:
        why = "has no active issuing body" if not bodies else "has several: name one"
        raise RuleViolation(
            f"the jurisdiction {why}", reasons=[{"code": "ISSUING_BODY", "detail": why}]
        )
    return bodies[0]
