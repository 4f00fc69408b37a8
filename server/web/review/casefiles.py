"""`/review/hazards/<id>/casefile.pdf` and `/review/inspections/<id>/casefile.pdf`: the case
files of the API (server.api.casefiles renders them) on the site's cookie session, for the
pages to link to."""

from __future__ import annotations

from server.actor import Actor, Role
from server.api.casefiles import public_key, render
from server.api.context import settings
from server.clock import utcnow
from server.services.casefiles import hazard_file, inspection_file
from server.web.review import site

bp = site.blueprint("review_casefiles", __name__)


@bp.get("/hazards/<hazard_id>/casefile.pdf")
@site.page(Role.ADMIN, Role.SUPERVISOR)
def hazard(actor: Actor, hazard_id: str):
    found = settings()
    return render(hazard_file.build(actor, hazard_id, public_key(found), now=utcnow()), found)


@bp.get("/inspections/<inspection_id>/casefile.pdf")
@site.page(Role.ADMIN, Role.SUPERVISOR)
def inspection(actor: Actor, inspection_id: str):
    found = settings()
    document = inspection_file.build(actor, inspection_id, public_key(found), now=utcnow())
    return render(document, found)
