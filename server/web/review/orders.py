"""`/review/orders/<id>`: one order to rectify as the site shows it (number, state, items with
their hazards, service), its PDF and, once re-inspected, the re-inspection opinion; read through
the same scoped use cases as the API's (server.services.hazards.orders)."""

from __future__ import annotations

from flask import Response, render_template

from media import documents
from media.label_print import Font
from server.actor import Actor
from server.api.context import settings
from server.services.casefiles import names
from server.services.hazards import orders, reinspection_opinion
from server.web.review import site
from server.web.review.hazards import VIEWERS, when

bp = site.blueprint("review_orders", __name__)


@bp.get("/orders/<order_id>")
@site.page(*VIEWERS)
def order(actor: Actor, order_id: str):
    found = orders.read(actor, order_id)
    service = found.get("service") or {}
    return render_template(
        "review/order.html",
        order=found,
        firm=orders.enterprise_name(found),
        people=names.people([service.get("by"), found.get("requested_by")]),
        when=when,
    )


@bp.get("/orders/<order_id>/pdf")
@site.page(*VIEWERS)
def pdf(actor: Actor, order_id: str):
    """The rendered order (404 until its job rendered it)."""
    return Response(orders.pdf_bytes(actor, order_id), mimetype="application/pdf")


@bp.get("/orders/<order_id>/reinspection-opinion.pdf")
@site.page(*VIEWERS)
def opinion(actor: Actor, order_id: str):
    """The re-inspection opinion (refused until one of its hazards was re-inspected)."""
    document = reinspection_opinion.document(actor, order_id)
    found = settings()
    data = documents.render(document, Font(found.watermark_font, found.watermark_font_index))
    return Response(data, mimetype="application/pdf")
