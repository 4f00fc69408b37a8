"""`/review/figures`: the figures of the supervisor's jurisdiction (an admin's: all, or one
jurisdiction) as charts drawn on the server, with the month's self-inspection reports and the
enterprises that have not sent theirs. The same figures as `GET /api/v1/figures`."""

from __future__ import annotations

from bson import ObjectId
from flask import render_template, request
from mongoengine.connection import get_db

from server.actor import Role
from server.clock import utcnow
from server.models.enterprise import Enterprise
from server.models.user import User
from server.services.figures import figures, ledger
from server.services.figures.contribution import month_of
from server.web.review import charts, site
from server.web.review.site import t

bp = site.blueprint("review_figures", __name__)

#: The hazard states drawn, in order, with their colours.
STATES = ("open_only", "overdue", "closed", "penalized")
COLORS = {"open_only": "#e0a030", "overdue": "#c0392b", "closed": "#2e8b57", "penalized": "#6c3483"}


@bp.get("/figures")
@site.page(Role.SUPERVISOR, Role.ADMIN)
def figures_page(actor):
    jurisdiction_id = request.args.get("jurisdiction_id") or None
    found = figures.figures(get_db(), actor, jurisdiction_id=jurisdiction_id)
    series = [charts.Series(key, t(f"figures.state.{key}"), COLORS[key]) for key in STATES]
    names = _enterprise_names([row["key"] for row in found["by_enterprise"]])
    inspectors = _user_names([str(r["inspector_id"]) for r in found["by_inspector"]])
    month = month_of(utcnow())
    scope_j = found["scope"]["jurisdiction_id"]
    book = ledger.ledger(actor, scope_j, month) if scope_j else None
    return render_template(
        "review/figures.html",
        found=found,
        month=month,
        book=book,
        levels=charts.stacked_bars(
            t("figures.by_level"),
            [(t(f"figures.level.{r['key']}"), _drawn(r)) for r in found["by_level"]],
            series,
            chart_id="chart-levels",
            empty=t("figures.none"),
        ),
        campaigns=charts.stacked_bars(
            t("figures.by_campaign"),
            [(_campaign(r["key"]), _drawn(r)) for r in found["by_campaign"]],
            series,
            chart_id="chart-campaigns",
            empty=t("figures.none"),
        ),
        enterprises=charts.stacked_bars(
            t("figures.by_enterprise"),
            [(names.get(r["key"], r["key"]), _drawn(r)) for r in found["by_enterprise"]],
            series,
            chart_id="chart-enterprises",
            empty=t("figures.none"),
        ),
        inspections=charts.stacked_bars(
            t("figures.by_inspector"),
            [
                (
                    inspectors.get(str(r["inspector_id"]), str(r["inspector_id"])),
                    {
                        "announced": r["inspections"] - r["unannounced"],
                        "unannounced": r["unannounced"],
                    },
                )
                for r in found["by_inspector"]
            ],
            [
                charts.Series("unannounced", t("figures.unannounced"), "#1f3a5f"),
                charts.Series("announced", t("figures.announced"), "#8fa8c8"),
            ],
            chart_id="chart-inspectors",
            empty=t("figures.none"),
        ),
    )


def _drawn(row: dict) -> dict:
    return {**row, "open_only": row["open"] - row["overdue"]}


def _campaign(key: str) -> str:
    return t("figures.campaign.none") if key == "none" else key


def _enterprise_names(ids: list[str]) -> dict[str, str]:
    found = Enterprise._get_collection().find(
        {"_id": {"$in": [ObjectId(i) for i in ids]}}, {"name": 1}
    )
    return {str(e["_id"]): e["name"] for e in found.batch_size(max(len(ids), 1))}


def _user_names(ids: list[str]) -> dict[str, str]:
    found = User._get_collection().find(
        {"_id": {"$in": [ObjectId(i) for i in ids]}}, {"display_name": 1, "username": 1}
    )
    return {
        str(u["_id"]): u.get("display_name") or u["username"]
        for u in found.batch_size(max(len(ids), 1))
    }
