"""`/api/v1/spaces`: the confined-space ledger (台账), scoped to the caller, and its coverage."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from media import label_print
from schemas.space import (
    CoverageSchema,
    LabelKeysSchema,
    SpaceCreateSchema,
    SpaceLabelSchema,
    SpaceListQuerySchema,
    SpaceSchema,
    SpaceUpdateSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.openapi import BINARY, TEXT
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.scoping import get_or_404
from server.models.space import Space
from server.services.spaces import label_sheets, labels, ledger

blp = Blueprint("spaces", __name__, url_prefix="/api/v1", description="Confined spaces")


@blp.route("/spaces")
class Spaces(MethodView):
    @blp.doc(operationId="listSpaces")
    @blp.arguments(SpaceListQuerySchema, location="query")
    @blp.response(200, SpaceSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, query):
        """Spaces the caller may see, optionally of one enterprise."""
        spaces = Space.objects.for_actor(current_actor())
        if query["enterprise_id"] is not None:
            spaces = spaces.filter(enterprise_id=query["enterprise_id"])
        return spaces.order_by("enterprise_id", "code")

    @blp.doc(operationId="createSpace")
    @blp.arguments(SpaceCreateSchema)
    @blp.response(201, SpaceSchema)
    def post(self, body):
        """Register a space (the enterprise's manager, or an admin)."""
        return ledger.create_space(current_actor(), now=utcnow(), **body)


@blp.route("/spaces/<space_id>")
class SpaceById(MethodView):
    @blp.doc(operationId="getSpace")
    @blp.etag
    @blp.response(200, SpaceSchema)
    def get(self, space_id):
        """One space in the caller's scope (ETag for conditional updates)."""
        return get_or_404(Space.objects.for_actor(current_actor()), space_id, "space")

    @blp.doc(operationId="updateSpace")
    @blp.etag
    @blp.arguments(SpaceUpdateSchema)
    @blp.response(200, SpaceSchema)
    def patch(self, body, space_id):
        """Change a space (status `retired` takes it off the ledger; it is never deleted);
        `If-Match` with the ETag from GET is required."""
        actor = current_actor()
        space = get_or_404(Space.objects.for_actor(actor), space_id, "space")
        blp.check_etag(space, SpaceSchema)
        return ledger.update_space(actor, space, now=utcnow(), **body)


@blp.route("/enterprises/<enterprise_id>/space-coverage")
class EnterpriseSpaceCoverage(MethodView):
    @blp.doc(operationId="getEnterpriseSpaceCoverage")
    @blp.response(200, CoverageSchema)
    def get(self, enterprise_id):
        """Ledger, signage and label coverage of one enterprise."""
        return ledger.enterprise_coverage(current_actor(), enterprise_id)


@blp.route("/jurisdictions/<jurisdiction_id>/space-coverage")
class JurisdictionSpaceCoverage(MethodView):
    @blp.doc(operationId="getJurisdictionSpaceCoverage")
    @blp.response(200, CoverageSchema)
    def get(self, jurisdiction_id):
        """Ledger, signage and label coverage over a jurisdiction's enterprises that have
        confined spaces (its regulators, and admins)."""
        return ledger.jurisdiction_coverage(current_actor(), jurisdiction_id)


@blp.route("/spaces/label-keys")
class LabelKeys(MethodView):
    @blp.doc(operationId="getLabelKeys", security=[])
    @blp.response(200, LabelKeysSchema)
    def get(self):
        """The Ed25519 public keys that verify QR labels (phones keep them to verify offline);
        without authentication, at a stable URL."""
        return {"keys": labels.public_keys(label_sheets.label_keys(settings()))}


def _space(space_id):
    return get_or_404(Space.objects.for_actor(current_actor()), space_id, "space")


def _label(space):
    return {
        "space_id": space.id,
        "label_version": space.label_version,
        "issued_at": space.label_issued_at,
        "token": label_sheets.token(space, settings()),
        "url": label_sheets.label_url(space, settings()),
    }


@blp.route("/spaces/<space_id>/label")
class SpaceLabel(MethodView):
    @blp.doc(operationId="getSpaceLabel")
    @blp.response(200, SpaceLabelSchema)
    def get(self, space_id):
        """The space's current label (404 before the first is issued)."""
        return _label(_space(space_id))

    @blp.doc(operationId="issueSpaceLabel")
    @blp.response(201, SpaceLabelSchema)
    def post(self, space_id):
        """Issue the next label version (manager, admin); the previous label is refused from
        now on. Audited."""
        space = label_sheets.issue_label(current_actor(), _space(space_id), now=utcnow())
        return _label(space)


@blp.route("/spaces/<space_id>/label.png")
class SpaceLabelPng(MethodView):
    @blp.doc(operationId="getSpaceLabelPng")
    @blp.response(200, BINARY, content_type="image/png", description="the label, 300 dpi")
    def get(self, space_id):
        """The current label as a PNG: QR, name, code, enterprise and the warning."""
        card = label_sheets.card(_space(space_id), settings())
        body = label_print.png(card, label_sheets.font(settings()))
        return Response(body, mimetype="image/png")


@blp.route("/spaces/<space_id>/label.svg")
class SpaceLabelSvg(MethodView):
    @blp.doc(operationId="getSpaceLabelSvg")
    @blp.response(200, TEXT, content_type="image/svg+xml", description="the label, in mm")
    def get(self, space_id):
        """The current label as SVG."""
        card = label_sheets.card(_space(space_id), settings())
        return Response(label_print.svg(card), mimetype="image/svg+xml")


@blp.route("/enterprises/<enterprise_id>/space-labels.pdf")
class EnterpriseLabelSheet(MethodView):
    @blp.doc(operationId="getEnterpriseLabelSheet")
    @blp.response(200, BINARY, content_type="application/pdf", description="A4, four labels a page")
    def get(self, enterprise_id):
        """The current labels of the enterprise's spaces, for printing."""
        body = label_sheets.sheet(current_actor(), enterprise_id, settings())
        return Response(body, mimetype="application/pdf")
