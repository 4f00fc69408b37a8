"""`/review/hazards`: the hazards of the actor's scope with filters, and one hazard's page — its
timeline, photos, orders, re-inspection, and the forms of the transitions the actor may take
now. The forms are derived from the lifecycle table (server.services.hazards.states) and are
taken by the same use case as the API's transitions (`lifecycle.take`), never a second path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import redirect, render_template, request, url_for

from schemas.hazard_page import HazardFilterSchema, TransitionFormSchema
from server.actor import Actor, Role
from server.api.context import settings
from server.clock import utcnow
from server.errors import Conflict, RuleViolation, field_errors
from server.models.enterprise import Enterprise
from server.models.hazard import Level
from server.services.casefiles import evidence, names
from server.services.hazards import lifecycle, orders, states
from server.services.hazards.timings import CHINA
from server.services.spaces.label_sheets import label_keys
from server.web.review import site

bp = site.blueprint("review_hazards", __name__)

#: Who follows hazards on the site; each sees the hazards of their own scope.
VIEWERS = (Role.ADMIN, Role.SUPERVISOR, Role.INSPECTOR)
PER_PAGE = 50
#: Request fields a page's form supplies; a transition that needs others (photos, a plan, a
#: re-inspection recorded at the place) is taken on the phone, not offered here.
FORM_FIELDS = frozenset({"reason", "note", "deadline", "level", "escalation", "penalty"})


def when(moment) -> str:
    """A stored instant as the site prints it: Beijing time to the minute (absent: blank)."""
    if not isinstance(moment, datetime):
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(CHINA)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        # A deadline ends at 24:00 of its day (server.services.hazards.timings): say so.
        return (local - timedelta(days=1)).strftime("%Y-%m-%d 24:00")
    return local.strftime("%Y-%m-%d %H:%M")


def valid(schema, data) -> dict:
    """`data` loaded by `schema`; RuleViolation naming each bad field (a refusal page)."""
    errors = schema.validate(data)
    if errors:
        fields = field_errors(errors)
        said = "; ".join(f"{e['field']}: {' '.join(e['messages'])}" for e in fields)
        raise RuleViolation(f"{site.t('site.invalid')} {said}", errors=fields)
    return schema.load(data)


@bp.get("/hazards")
@site.page(*VIEWERS)
def hazard_list(actor: Actor):
    args = valid(HazardFilterSchema(), request.args)
    page = args.pop("page", 1)
    found = lifecycle.visible(actor, **_filters(args, utcnow()))
    total = found.count()
    rows = found[(page - 1) * PER_PAGE : page * PER_PAGE]
    firms = Enterprise.objects.for_actor(actor).only("id", "name").order_by("name")[:500]
    return render_template(
        "review/hazards.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        chosen=request.args,
        enterprises=[(str(e.id), e.name) for e in firms],
        firm_names=names.enterprises(r["enterprise_id"] for r in rows),
        states=states.STATES,
        levels=Level.ALL,
        when=when,
        page_url=lambda n: url_for(".hazard_list", **{**request.args.to_dict(), "page": n}),
    )


def _filters(args: dict, now: datetime) -> dict:
    """The list's filters as a query on the hazards (`overdue`: under an order whose deadline
    passed, whether or not the timer marked it yet)."""
    out = {}
    if "state" in args:
        out["state"] = args["state"]
    if "level" in args:
        out["level"] = args["level"]
    if "campaign" in args:
        out["checklist_code"] = args["campaign"]
    if "enterprise_id" in args:
        out["enterprise_id"] = args["enterprise_id"]
    if args.get("listed") is True:
        out["listing"] = "listed"
    elif args.get("listed") is False:
        out["listing__ne"] = "listed"
    if args.get("overdue"):
        chosen = out.pop("state", None)
        out["state__in"] = [s for s in states.UNDER_ORDER if chosen in (None, s)]
        out["deadline__lt"] = now
    return out


@bp.get("/hazards/<hazard_id>")
@site.page(*VIEWERS)
def hazard(actor: Actor, hazard_id: str):
    return _page(actor, hazard_id)


@bp.post("/hazards/<hazard_id>/transitions")
@site.page(*VIEWERS)
def take(actor: Actor, hazard_id: str):
    """Take a transition from its form; refused, the page again with every reason."""
    schema = TransitionFormSchema()
    form = _form_body(request.form)
    errors = schema.validate(form)
    if errors:
        refusal = RuleViolation(site.t("site.invalid"), errors=field_errors(errors))
        return _page(actor, hazard_id, refusal=refusal)
    body = schema.load(form)
    action, version = body.pop("action"), body.pop("version")
    try:
        lifecycle.take(
            actor,
            hazard_id,
            action,
            body,
            now=utcnow(),
            version=version,
            label_keys=label_keys(settings()),
        )
    except (RuleViolation, Conflict) as refused:
        # Shown beside the forms, so the supervisor sees why and what the hazard is now.
        return _page(actor, hazard_id, refusal=refused)
    return redirect(url_for(".hazard", hazard_id=hazard_id), 303)


def _form_body(form) -> dict:
    """The form's filled fields as a transition request (a penalty from its two fields)."""
    body = {
        k: v.strip()
        for k, v in form.items()
        if k != "csrf_token" and not k.startswith("penalty_") and v.strip()
    }
    firm, persons = form.get("penalty_firm", "").strip(), form.get("penalty_persons", "")
    people = [line.strip() for line in persons.splitlines() if line.strip()]
    if firm or people:
        body["penalty"] = {k: v for k, v in (("firm", firm), ("persons", people)) if v}
    return body


def offered(actor: Actor, hazard: dict, now: datetime) -> list[states.Transition]:
    """The transitions of the table the actor may take on `hazard` now from a form: their role
    is named, the state is one they leave, the form can carry what they require, and no rule
    that reads the hazard alone refuses them (the rest is judged when the form is sent)."""
    found = []
    for transition in states.TRANSITIONS:
        if actor.role not in transition.who or not set(transition.requires) <= FORM_FIELDS:
            continue
        reasons = states.refusals(transition, hazard, {}, now)
        if all(r["code"] == "REQUIRED" for r in reasons):
            found.append(transition)
    return found


def _page(actor: Actor, hazard_id: str, *, refusal=None):
    found = lifecycle.read(actor, hazard_id)
    its_orders = list(orders.visible(actor, hazard_ids=found["id"]).as_pymongo())
    photos = evidence.shown(actor, evidence.hazard_photos(found))
    history = found.get("history") or []
    who = [found.get("inspector_id"), found.get("reported_by")]
    who += [e.get("by") for e in history + (found.get("escalations") or [])]
    who += [(found.get(k) or {}).get("by") for k in ("reinspection", "closeout_application")]
    page = render_template(
        "review/hazard.html",
        hazard=found,
        firm=names.enterprises([found["enterprise_id"]]).get(str(found["enterprise_id"]), ""),
        people=names.people(who),
        history=history,
        orders=its_orders,
        photos=photos,
        transitions=offered(actor, found, utcnow()),
        levels=Level.ALL,
        escalations=states.ESCALATIONS,
        refusal=refusal,
        casefile=actor.role in (Role.ADMIN, Role.SUPERVISOR),
        when=when,
    )
    return page, (refusal.status if refusal is not None else 200)
