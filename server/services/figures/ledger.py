"""The monthly hazard ledger of a jurisdiction (月度隐患台账), as CSV and as XLSX: one row per
enterprise with its self-inspection report for the month (or that it sent none) beside the
hazards registered against it that month, then the enterprises that did not report, named
(seed 003: 每月定期将……排查出的安全隐患形成台账，将……不认真排查隐患的单位进行通报).

The registered hazards come from the precomputed figure cells of that month, so the ledger
costs one read of the jurisdiction's enterprises, reports and cells.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC

from bson import ObjectId
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from server.actor import Actor
from server.errors import Forbidden
from server.models.enterprise import Enterprise
from server.models.figures import HAZARDS, FigureCell
from server.models.hazard import Level
from server.models.jurisdiction import Jurisdiction
from server.models.scoping import get_or_404
from server.services.figures import cells, monthly
from server.services.hazards.timings import CHINA

#: Column headings, in order (the ledger is read by the jurisdiction's staff: Chinese).
HEADINGS = (
    "企业名称",
    "统一社会信用代码",
    "是否上报",
    "上报时间",
    "零隐患报告",
    "自查隐患数",
    "自查已整改数",
    "登记隐患数",
    "其中重大隐患",
    "已整改销号",
    "逾期未整改",
    "未整改",
)
MISSING_HEADING = "本月未上报自查报告的单位"
YES, NO = "是", "否"
#: What makes a spreadsheet read a cell's text as a formula.
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class Ledger:
    jurisdiction: str
    month: str
    rows: list[list]
    #: Names and credit codes of the enterprises that did not report.
    missing: list[tuple[str, str]]

    @property
    def title(self) -> str:
        return f"{self.jurisdiction} {self.month} 隐患排查治理台账"


def ledger(actor: Actor, jurisdiction_id, month: str) -> Ledger:
    """The ledger of a jurisdiction the actor regulates (or any, for an admin)."""
    jurisdiction = get_or_404(
        Jurisdiction.objects.for_actor(actor), jurisdiction_id, "jurisdiction"
    )
    if not (actor.is_admin or actor.is_regulator):
        raise Forbidden("the monthly ledger is for the jurisdiction's regulators")
    firms = list(
        Enterprise._get_collection()
        .find({"jurisdiction_id": jurisdiction.id}, {"name": 1, "credit_code": 1})
        .sort("name", 1)
        .batch_size(5000)
    )
    reports = monthly.reported(jurisdiction.id, month)
    registered = _registered(jurisdiction.id, month)
    rows, missing = [], []
    for firm in firms:
        report = reports.get(firm["_id"])
        found = registered.get(firm["_id"], {})
        rows.append(
            [
                firm["name"],
                firm.get("credit_code", ""),
                YES if report else NO,
                _local(report["submitted_at"]) if report else "",
                (YES if report["nil"] else NO) if report else "",
                report["hazards_found"] if report else "",
                report["hazards_rectified"] if report else "",
                found.get("hazards", 0),
                found.get("major", 0),
                found.get("closed", 0),
                found.get("overdue", 0),
                found.get("open", 0),
            ]
        )
        if report is None:
            missing.append((firm["name"], firm.get("credit_code", "")))
    return Ledger(jurisdiction.name, month, rows, missing)


def _registered(jurisdiction_id: ObjectId, month: str) -> dict[ObjectId, dict]:
    query = {"jurisdiction_id": jurisdiction_id, "month": month, "kind": HAZARDS}
    by_firm: dict[ObjectId, list[dict]] = {}
    for cell in FigureCell._get_collection().find(query, {"members": 0}).batch_size(10_000):
        by_firm.setdefault(cell["enterprise_id"], []).append(cell)
    out = {}
    for firm, found in by_firm.items():
        total = cells.add_up(found)
        major = cells.add_up(c for c in found if c.get("level") == Level.MAJOR)["hazards"]
        out[firm] = {**total, "major": major}
    return out


def _local(moment) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def _cell(value):
    """A value as a spreadsheet may hold it: text without the control characters XLSX
    forbids, and never read as a formula (a name starting with = + - @ gets a leading ')."""
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value[:1] in FORMULA_START else value


def _row(values) -> list:
    return [_cell(v) for v in values]


def to_csv(book: Ledger) -> bytes:
    """UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese right."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_row([book.title]))
    writer.writerow(HEADINGS)
    writer.writerows(_row(r) for r in book.rows)
    writer.writerow([])
    writer.writerow([MISSING_HEADING, len(book.missing)])
    writer.writerows(_row(m) for m in book.missing)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(book: Ledger) -> bytes:
    """Two sheets: the ledger, and the enterprises that did not report."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "台账"
    sheet.append(_row([book.title]))
    sheet.append(list(HEADINGS))
    for row in book.rows:
        sheet.append(_row(row))
    unreported = workbook.create_sheet("未上报单位")
    unreported.append([MISSING_HEADING, len(book.missing)])
    unreported.append(["企业名称", "统一社会信用代码"])
    for missing in book.missing:
        unreported.append(_row(missing))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
