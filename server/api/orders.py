"""`/api/v1/orders`: orders to rectify issued by inspectors, scoped to the caller (both
inspectors, their jurisdiction's supervisors, the enterprise once numbered), their PDF and
their service (送达); `/api/v1/issuing-bodies`: in whose name they are issued (admins keep
them). Phones also get orders through the feed."""

from __future__ import annotations

from flask import Response
from flask.views import MethodView

from media import documents
from media.label_print import Font
from schemas.order import (
    IssuingBodyCreateSchema,
    IssuingBodySchema,
    NumberBlockCreateSchema,
    NumberBlockSchema,
    OrderCreateSchema,
    OrderQuerySchema,
    OrderSchema,
    ServiceRequestSchema,
    VoidSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.openapi import BINARY
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.services.hazards import issuing, number_blocks, orders, reinspection_opinion, service

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders to rectify")


@blp.route("/orders")
class Orders(MethodView):
    @blp.doc(operationId="listOrders")
    @blp.arguments(OrderQuerySchema, location="query")
    @blp.response(200, OrderSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, args):
        """Orders the caller may see, newest first."""
        return orders.visible(current_actor(), **args)

    @blp.doc(operationId="issueOrder")
    @blp.arguments(OrderCreateSchema)
    @blp.response(202, OrderSchema)
    def post(self, body):
        """Issue an order for chosen failed items of the caller's submitted inspection, with a
        co-inspector (both holding 执法证号). Accepted: its job numbers it and renders the
        PDF. The same request again answers the same order."""
        inspection_id = body.pop("inspection_id")
        return orders.request(current_actor(), inspection_id, now=utcnow(), **body)


@blp.route("/orders/<order_id>")
class OrderById(MethodView):
    @blp.doc(operationId="getOrder")
    @blp.response(200, OrderSchema)
    def get(self, order_id):
        """One order in the caller's scope."""
        return orders.read(current_actor(), order_id)


@blp.route("/orders/<order_id>/pdf")
class OrderPdf(MethodView):
    @blp.doc(operationId="getOrderPdf")
    @blp.response(200, BINARY, content_type="application/pdf", description="the order, A4")
    def get(self, order_id):
        """The rendered order (404 until its job rendered it)."""
        data = orders.pdf_bytes(current_actor(), order_id)
        return Response(data, mimetype="application/pdf")


@blp.route("/orders/<order_id>/reinspection-opinion.pdf")
class OrderReinspectionOpinionPdf(MethodView):
    @blp.doc(operationId="getReinspectionOpinionPdf")
    @blp.response(200, BINARY, content_type="application/pdf", description="A4")
    def get(self, order_id):
        """The re-inspection opinion (整改复查意见书): the order's number and date, and item by
        item what the re-inspection found (422 until one of its hazards was re-inspected)."""
        document = reinspection_opinion.document(current_actor(), order_id)
        found = settings()
        data = documents.render(document, Font(found.watermark_font, found.watermark_font_index))
        return Response(data, mimetype="application/pdf")


@blp.route("/orders/<order_id>/service")
class OrderService(MethodView):
    @blp.doc(operationId="serveOrder")
    @blp.arguments(ServiceRequestSchema)
    @blp.response(200, OrderSchema)
    def post(self, body, order_id):
        """Record the service (送达): the representative's signature or refusal (the order's
        inspectors), or the enterprise manager's acknowledgement. Each hazard's deadline
        runs from it."""
        kind = body.pop("kind")
        return service.serve(current_actor(), order_id, kind=kind, now=utcnow(), **body)


@blp.route("/issuing-bodies")
class IssuingBodies(MethodView):
    @blp.doc(operationId="listIssuingBodies")
    @blp.response(200, IssuingBodySchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self):
        """Issuing bodies the caller may see (regulators: their jurisdiction's)."""
        return issuing.visible(current_actor())

    @blp.doc(operationId="createIssuingBody")
    @blp.arguments(IssuingBodyCreateSchema)
    @blp.response(201, IssuingBodySchema)
    def post(self, body):
        """Add an issuing body to a jurisdiction (admins); its number format names `{year}`
        and `{n}`."""
        return issuing.create(current_actor(), now=utcnow(), **body)


@blp.route("/issuing-bodies/<body_id>")
class IssuingBodyById(MethodView):
    @blp.doc(operationId="getIssuingBody")
    @blp.response(200, IssuingBodySchema)
    def get(self, body_id):
        return issuing.read(current_actor(), body_id)


@blp.route("/number-blocks")
class NumberBlocks(MethodView):
    @blp.doc(operationId="listNumberBlocks")
    @blp.response(200, NumberBlockSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self):
        """Reserved number blocks the caller may see (an inspector: their own)."""
        return number_blocks.visible(current_actor())

    @blp.doc(operationId="reserveNumberBlock")
    @blp.arguments(NumberBlockCreateSchema)
    @blp.response(201, NumberBlockSchema)
    def post(self, body):
        """Reserve numbers for orders issued offline (inspectors holding 执法证号); the same
        block id again answers the same block."""
        block_id = body.pop("id")
        return number_blocks.reserve(current_actor(), block_id, now=utcnow(), **body)


@blp.route("/number-blocks/<block_id>")
class NumberBlockById(MethodView):
    @blp.doc(operationId="getNumberBlock")
    @blp.response(200, NumberBlockSchema)
    def get(self, block_id):
        return number_blocks.read(current_actor(), block_id)


@blp.route("/number-blocks/<block_id>/void")
class NumberBlockVoid(MethodView):
    @blp.doc(operationId="voidReservedNumber")
    @blp.arguments(VoidSchema)
    @blp.response(200, NumberBlockSchema)
    def post(self, body, block_id):
        """Void (作废) a reserved number with a reason (its inspector or a supervisor)."""
        return number_blocks.void(
            current_actor(), block_id, body["n"], reason=body["reason"], now=utcnow()
        )
