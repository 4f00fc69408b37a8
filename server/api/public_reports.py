"""`/api/v1/public-reports`: public reports (群众举报) — sent without an account and followed
by their code; read, verified and dismissed by the supervisors of their jurisdiction
(server.services.hazards.public_reports). The form at `/report` (server.web.report) is the
same use cases for a browser."""

from __future__ import annotations

from datetime import timedelta

from flask import request, url_for
from flask.views import MethodView

from media.blobstore import BlobStore
from schemas.public_report import (
    PublicReportCreateSchema,
    PublicReportDismissSchema,
    PublicReportFollowUpSchema,
    PublicReportQuerySchema,
    PublicReportReceiptSchema,
    PublicReportSchema,
    PublicReportVerifySchema,
)
from server.api.blueprint import Blueprint
from server.api.context import client_ip, current_actor, services, settings
from server.api.openapi import BINARY
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.errors import TooLarge
from server.models.public_report import PublicReport
from server.services.hazards import public_reports

blp = Blueprint(
    "public_reports", __name__, url_prefix="/api/v1", description="Public reports (举报)"
)

_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": public_reports.CODE_PATTERN},
    "description": "the follow-up code the report's answer gave",
}
_PHOTO = {t: {"schema": BINARY} for t in ("image/jpeg", "image/png", "image/webp")}


def store() -> BlobStore:
    return BlobStore(PublicReport._get_db())


def receipt(submitted: public_reports.Submitted) -> dict:
    """The answer to a report (also rendered by the form)."""
    limits = settings()
    return {
        **public_reports.follow_up(submitted.code),
        "code": submitted.code,
        "max_photos": limits.public_report_max_photos,
        "max_photo_bytes": limits.public_report_max_photo_bytes,
        "photos_url": url_for("public_reports.PublicReportPhotos", code=submitted.code),
    }


def photo_body() -> bytes:
    """The request's body, read no further than one byte past a report photo's limit."""
    limit = min(settings().public_report_max_photo_bytes, settings().max_upload_bytes)
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"a photo of a report is at most {limit} bytes", limit=limit, unit="bytes")
    return request.stream.read(limit + 1)


@blp.route("/public-reports")
class PublicReports(MethodView):
    @blp.doc(operationId="submitPublicReport", security=[])
    @blp.arguments(PublicReportCreateSchema)
    @blp.response(201, PublicReportReceiptSchema)
    def post(self, body):
        """Report what you saw at an enterprise, without an account (limited per address: 429
        with Retry-After). Keep the follow-up code: it is shown only here."""
        submitted = public_reports.submit(
            body, client_ip=client_ip(), throttle=services().report_throttle, now=utcnow()
        )
        return receipt(submitted), 201, {"Cache-Control": "no-store"}

    @blp.doc(operationId="listPublicReports")
    @blp.arguments(PublicReportQuerySchema, location="query")
    @blp.response(200, PublicReportSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, args):
        """Reports of the caller's jurisdiction (supervisors), newest first."""
        return public_reports.visible(current_actor(), **args)


@blp.route("/public-reports/follow-up/<code>", parameters=[_CODE])
class PublicReportFollowUp(MethodView):
    @blp.doc(operationId="followPublicReport", security=[])
    @blp.response(200, PublicReportFollowUpSchema)
    def get(self, code):
        """Where a report stands (pending, verified, dismissed), by its follow-up code."""
        return public_reports.follow_up(code), 200, {"Cache-Control": "no-store"}


@blp.route("/public-reports/follow-up/<code>/photos", parameters=[_CODE])
class PublicReportPhotos(MethodView):
    @blp.doc(
        operationId="addPublicReportPhoto",
        security=[],
        requestBody={"required": True, "content": _PHOTO},
    )
    @blp.response(201, PublicReportFollowUpSchema)
    def post(self, code):
        """Add one photo (JPEG, PNG or WebP bytes) to a pending report: checked, and stored
        without its metadata (no EXIF, no GPS); a bounded number per report."""
        shown = public_reports.add_photo(
            code, photo_body(), settings=settings(), store=store(), now=utcnow()
        )
        return shown, 201, {"Cache-Control": "no-store"}


@blp.route("/public-reports/<report_id>")
class PublicReportById(MethodView):
    @blp.doc(operationId="getPublicReport")
    @blp.response(200, PublicReportSchema)
    def get(self, report_id):
        """One report of the caller's jurisdiction (supervisors)."""
        return public_reports.read(current_actor(), report_id)


@blp.route("/public-reports/<report_id>/verification")
class PublicReportVerification(MethodView):
    @blp.doc(operationId="verifyPublicReport")
    @blp.arguments(PublicReportVerifySchema)
    @blp.response(200, PublicReportSchema)
    def post(self, body, report_id):
        """Verify a report (查实): it becomes a hazard (source `public_report`) with its photos
        as evidence, recorded by the supervisor; nothing of the reporter goes with it."""
        window = timedelta(days=settings().hazard_repeat_days)
        return public_reports.verify(
            current_actor(), report_id, now=utcnow(), window=window, **body
        )


@blp.route("/public-reports/<report_id>/dismissal")
class PublicReportDismissal(MethodView):
    @blp.doc(operationId="dismissPublicReport")
    @blp.arguments(PublicReportDismissSchema)
    @blp.response(200, PublicReportSchema)
    def post(self, body, report_id):
        """Dismiss a report, with the reason (the reporter sees only "dismissed")."""
        return public_reports.dismiss(current_actor(), report_id, now=utcnow(), **body)
