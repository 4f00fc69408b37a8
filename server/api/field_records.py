"""`/api/v1/inspections/{id}/field-record.pdf`: the on-site inspection record (现场检查记录) of
a submitted inspection, for printing and signing on site, to whoever may read the
inspection."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from media import documents
from media.label_print import Font
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.openapi import BINARY
from server.services.hazards import field_record

blp = Blueprint("field_records", __name__, url_prefix="/api/v1", description="Field records")


@blp.route("/inspections/<inspection_id>/field-record.pdf")
class FieldRecordPdf(MethodView):
    @blp.doc(operationId="getFieldRecordPdf")
    @blp.response(200, BINARY, content_type="application/pdf", description="A4")
    def get(self, inspection_id):
        """The record of a submitted inspection: firm, time, inspector, each item's result,
        the problems found and the signature lines (422 for a draft)."""
        document = field_record.document(current_actor(), inspection_id)
        found = settings()
        data = documents.render(document, Font(found.watermark_font, found.watermark_font_index))
        return Response(data, mimetype="application/pdf")
