"""`/api/v1/figures`, `/api/v1/monthly-reports` and a jurisdiction's monthly ledger: the figures
of supervision read from their precomputed cells, the enterprises' monthly self-inspection
reports, and the ledger that names who did not report (CSV or XLSX)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask.views import MethodView
from mongoengine.connection import get_db

from schemas.figures import (
    FiguresQuerySchema,
    FiguresSchema,
    LedgerQuerySchema,
    MonthlyReportCreateSchema,
    MonthlyReportListQuerySchema,
    MonthlyReportSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor
from server.api.openapi import BINARY
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.services.figures import figures, ledger, monthly

blp = Blueprint("figures", __name__, url_prefix="/api/v1", description="Figures and reports")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route("/figures")
class Figures(MethodView):
    @blp.doc(operationId="getFigures")
    @blp.arguments(FiguresQuerySchema, location="query")
    @blp.response(200, FiguresSchema)
    def get(self, query):
        """Figures of the caller's scope: a supervisor's jurisdiction, an enterprise manager's
        enterprise, anything for an admin (narrowed by jurisdiction, enterprise and months)."""
        return figures.figures(get_db(), current_actor(), **query)


@blp.route("/monthly-reports")
class MonthlyReports(MethodView):
    @blp.doc(operationId="listMonthlyReports")
    @blp.arguments(MonthlyReportListQuerySchema, location="query")
    @blp.response(200, MonthlyReportSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self, query):
        """Monthly self-inspection reports the caller may see, newest month first."""
        wanted = {k: v for k, v in query.items() if v is not None}
        return monthly.visible(current_actor(), **wanted).as_pymongo()

    @blp.doc(operationId="submitMonthlyReport")
    @blp.arguments(MonthlyReportCreateSchema)
    @blp.response(201, MonthlyReportSchema)
    def post(self, body):
        """The caller's enterprise reports on a month (hazards_found 0: a nil return); the
        same report again answers 200, a different one for the month 409."""
        report, stored = monthly.submit(current_actor(), now=utcnow(), **body)
        return report, 201 if stored else 200


@blp.route("/jurisdictions/<jurisdiction_id>/monthly-ledger.csv")
class MonthlyLedgerCsv(MethodView):
    @blp.doc(operationId="getMonthlyLedgerCsv")
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, BINARY, content_type="text/csv", description="UTF-8 with a byte-order mark")
    def get(self, query, jurisdiction_id):
        """The month's hazard ledger of a jurisdiction: every enterprise with its report and
        registered hazards, then the enterprises that did not report."""
        book = ledger.ledger(current_actor(), jurisdiction_id, query["month"])
        return _download(ledger.to_csv(book), "text/csv", f"{book.title}.csv")


@blp.route("/jurisdictions/<jurisdiction_id>/monthly-ledger.xlsx")
class MonthlyLedgerXlsx(MethodView):
    @blp.doc(operationId="getMonthlyLedgerXlsx")
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, BINARY, content_type=XLSX, description="the ledger and the unreported")
    def get(self, query, jurisdiction_id):
        """The same ledger as a workbook: the ledger, and the enterprises that did not report
        on a sheet of their own."""
        book = ledger.ledger(current_actor(), jurisdiction_id, query["month"])
        return _download(ledger.to_xlsx(book), XLSX, f"{book.title}.xlsx")


def _download(data: bytes, mimetype: str, name: str) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(name)}"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": disposition})
