"""The review pages of inspections: `/review/queue` (what awaits the supervisor, with
thumbnails and filters), `/review/inspections/<id>` (one inspection with its photos large,
their EXIF and coordinates, and approve / return-with-reasons forms), `/review/awaiting` (an
inspector's returned inspections); their photos come from server.web.review.photos.

Decisions are the API's use case (server.services.review.decisions): each form carries the
version it shows and a decision id rendered into it, so a double submit decides once and a
decision on a page gone stale is refused (409) with a page saying so.
"""

from __future__ import annotations

import re
import uuid

from bson import ObjectId
from bson.errors import InvalidId
from flask import redirect, render_template, request, url_for

from schemas.review import site_page
from server.actor import Role
from server.clock import utcnow
from server.errors import RuleViolation
from server.models.enterprise import Enterprise
from server.models.hazard import Level
from server.models.inspection import Status
from server.models.user import User
from server.services.hazards.timings import CHINA
from server.services.review import awaiting, decisions, queue
from server.services.review.inspection import for_review
from server.web.review import site

bp = site.blueprint("review_queue", __name__)

REVIEWERS = (Role.SUPERVISOR, Role.ADMIN)
#: Queue filters as the page's form names them.
FILTERS = ("enterprise_id", "campaign", "level", "inspector_id", "regime", "kind")
CAMPAIGNS = ("CS", "HW", "FH", "OC")
REGIMES = ("industrial", "hazchem", "construction")
PAGE = 50
_CODE = re.compile(r"^[A-Z]{2,4}-[0-9A-Za-z.-]{1,12}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def local(moment) -> str:
    """An instant as Beijing time, to the second (empty for none)."""
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


bp.add_app_template_filter(local, "local")


@bp.get("/queue")
@site.page(*REVIEWERS)
def queue_page(actor):
    chosen = _filters()
    found = queue.pending(actor, chosen)
    page = max(_int(request.args.get("page"), 1), 1)
    entries = found[(page - 1) * PAGE : page * PAGE]
    return render_template(
        "review/queue.html",
        entries=entries,
        opens=site_page,
        total=found.count(),
        page=page,
        pages=max((found.count() + PAGE - 1) // PAGE, 1),
        chosen={k: request.args.get(k, "") for k in FILTERS},
        enterprises=_choices(Enterprise.objects.for_actor(actor), "name"),
        inspectors=_choices(
            User.objects.for_actor(actor).filter(role__in=["inspector", "supervisor"]),
            "display_name",
        ),
        campaigns=CAMPAIGNS,
        levels=Level.ALL,
        regimes=REGIMES,
        kinds=queue.KINDS,
    )


@bp.get("/inspections/<inspection_id>")
@site.page()
def inspection_page(actor, inspection_id):
    shown = for_review(actor, inspection_id)
    return render_template(
        "review/inspection.html",
        case=shown,
        inspection=shown.raw,
        decision_id=str(uuid.uuid4()),
        enterprise=Enterprise.objects(id=shown.raw["enterprise_id"]).only("name").first(),
        status=Status,
    )


@bp.post("/inspections/<inspection_id>/decisions")
@site.page(*REVIEWERS)
def decide(actor, inspection_id):
    form = request.form
    verdict = form.get("verdict", "")
    reasons = {
        key.removeprefix("reason."): value.strip()
        for key, value in form.items()
        if key.startswith("reason.") and value.strip()
    }
    if verdict == Status.APPROVED:
        reasons = {}  # the approve form carries no reasons; a return's are its own form's
    bad = [code for code in reasons if not _CODE.match(code)]
    if not _UUID.match(form.get("decision_id", "")) or bad:
        raise RuleViolation(site.t("inspection.bad_form"))
    decisions.decide(
        actor,
        inspection_id,
        decision_id=form["decision_id"],
        verdict=verdict,
        inspection_version=_int(form.get("version"), 0),
        reasons=reasons,
        note=form.get("note") or None,
        now=utcnow(),
    )
    return redirect(url_for("review_queue.inspection_page", inspection_id=inspection_id), 303)


@bp.get("/awaiting")
@site.page(Role.INSPECTOR)
def awaiting_page(actor):
    return render_template("review/awaiting.html", returned=awaiting.returned_to(actor))


def _filters() -> queue.Filters:
    args = request.args
    return queue.Filters(
        enterprise_id=_oid(args.get("enterprise_id")),
        campaign=args.get("campaign") if args.get("campaign") in CAMPAIGNS else None,
        level=args.get("level") if args.get("level") in Level.ALL else None,
        inspector_id=_oid(args.get("inspector_id")),
        regime=args.get("regime") if args.get("regime") in REGIMES else None,
        kind=args.get("kind") if args.get("kind") in queue.KINDS else None,
    )


def _choices(found, label: str) -> list[tuple[str, str]]:
    return [
        (str(raw["_id"]), raw.get(label) or str(raw["_id"]))
        for raw in found.only(label).as_pymongo()
    ]


def _oid(value: str | None):
    try:
        return ObjectId(value) if value else None
    except (InvalidId, TypeError):
        return None


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
