"""`/api/v1/hazards/{id}/casefile.pdf` and `/api/v1/inspections/{id}/casefile.pdf`: a hazard
or an inspection as one PDF case file for an auditor (server.services.casefiles), read by
admins and the supervisors of its jurisdiction; anyone else who sees the object gets 403, and
everyone else 404."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from media import documents
from media.label_print import Font
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.openapi import BINARY
from server.clock import utcnow
from server.config import Settings
from server.services.audit import signing
from server.services.casefiles import hazard_file, inspection_file

blp = Blueprint("casefiles", __name__, url_prefix="/api/v1", description="Case files")


def render(document: documents.Document, found: Settings) -> Response:
    data = documents.render(document, Font(found.watermark_font, found.watermark_font_index))
    return Response(data, mimetype="application/pdf")


def public_key(found: Settings):
    """The key the chain's signed heads are verified with."""
    return signing.private_key(found.audit_signing_key).public_key()


@blp.route("/hazards/<hazard_id>/casefile.pdf")
class HazardCaseFile(MethodView):
    @blp.doc(operationId="getHazardCaseFile")
    @blp.response(200, BINARY, content_type="application/pdf", description="A4")
    def get(self, hazard_id):
        """The hazard's case file: facts, photos with their watermark data, decisions,
        orders, re-inspection, and its audit events with their chain position and the
        verifier's result on their range."""
        found = settings()
        document = hazard_file.build(current_actor(), hazard_id, public_key(found), now=utcnow())
        return render(document, found)


@blp.route("/inspections/<inspection_id>/casefile.pdf")
class InspectionCaseFile(MethodView):
    @blp.doc(operationId="getInspectionCaseFile")
    @blp.response(200, BINARY, content_type="application/pdf", description="A4")
    def get(self, inspection_id):
        """The inspection's case file: answers, photos with their watermark data, the
        hazards found and their re-inspection, orders, and the audit events of all of them
        (review decisions among them) with their chain position and the verifier's result."""
        found = settings()
        document = inspection_file.build(
            current_actor(), inspection_id, public_key(found), now=utcnow()
        )
        return render(document, found)
