"""`/review/audit`: the audit log's verification result for a range of one chain — intact, or
where it breaks — with its signed heads checked against the public key. The range is exported
and checked by the stand-alone verifier (server.services.audit.range_check), so the page says
what an auditor's own `python -m server.services.audit.verify` would. Supervisors check their
jurisdiction's chain; admins any chain, the system's too."""

from __future__ import annotations

from flask import render_template, request
from mongoengine.connection import get_db

from schemas.audit_page import AuditRangeSchema
from server.actor import Actor, Role
from server.api.casefiles import public_key
from server.api.context import settings
from server.clock import utcnow
from server.errors import NotFound
from server.services.audit import chain as chains
from server.services.audit.event import chain_of
from server.services.audit.range_check import check_range
from server.web.review import site
from server.web.review.hazards import valid

bp = site.blueprint("review_audit", __name__)


def chains_of(actor: Actor) -> list[str]:
    """The chains the actor may verify."""
    if actor.role is Role.ADMIN:
        return chains.chains(get_db())
    return [chain_of(actor.jurisdiction_id)] if actor.jurisdiction_id else []


@bp.get("/audit")
@site.page(Role.ADMIN, Role.SUPERVISOR)
def audit(actor: Actor):
    args = valid(AuditRangeSchema(), request.args)
    allowed = chains_of(actor)
    db = get_db()
    heads = {c: chains.head(db, c) for c in allowed}
    result = None
    if "chain" in args:
        if args["chain"] not in allowed:
            raise NotFound(site.t("audit.no_chain"))
        first = args.get("first", 1)
        result = check_range(
            db, args["chain"], first, args.get("last"), public_key(settings()), now=utcnow()
        )
    return render_template("review/audit.html", heads=heads, chosen=request.args, result=result)
