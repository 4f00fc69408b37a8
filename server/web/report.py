"""`/report`: the public report form (群众举报) in zh-CN, for a phone's browser without an
account, and `/report/status` where a follow-up code shows the report's status.

The same use cases as `POST /api/v1/public-reports` and its photos; the form sends everything
in one multipart request, so every photo is checked (count, size, decoded by the media checks)
before the report is stored, and a refused photo stores nothing. Refusals are pages with the
problem's status (and `Retry-After` when rate-limited), not JSON: a person reads them.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Blueprint, render_template, request

from schemas.public_report import PublicReportCreateSchema
from server.api.context import client_ip, services, settings
from server.api.public_reports import receipt, store
from server.clock import utcnow
from server.errors import DomainError, TooLarge
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.services.hazards import public_reports

bp = Blueprint("web_report", __name__, template_folder="templates")

FIELDS = tuple(PublicReportCreateSchema().fields)
#: What the reporter reads for each status.
STATUS_TEXT = {
    "pending": "待核实",
    "verified": "已查实，已转为隐患处理",
    "dismissed": "经核实不予立案",
}


def _choices() -> list[dict]:
    return [
        {"id": str(j.id), "name": j.name}
        for j in Jurisdiction.objects.only("id", "name").order_by("name")
    ]


def _form(values: dict, errors: dict, status: int = 200):
    enterprise = None
    if values.get("enterprise_id"):
        enterprise = Enterprise.objects(id=values["enterprise_id"]).only("name").first()
    page = render_template(
        "report_form.html",
        values=values,
        errors=errors,
        jurisdictions=_choices(),
        enterprise=enterprise,
        limits=settings(),
    )
    return page, status


@bp.get("/report")
def form():
    """The empty form; `?enterprise=<id>` (a code at the enterprise's gate) names the firm."""
    enterprise = request.args.get("enterprise", "")
    known = enterprise if len(enterprise) == 24 and _is_hex(enterprise) else ""
    return _form({"enterprise_id": known}, {})


@bp.post("/report")
def send():
    """Check the fields and every photo, then store the report and its photos."""
    values = {f: request.form.get(f, "").strip() for f in FIELDS}
    try:
        body = PublicReportCreateSchema().load({k: v for k, v in values.items() if v})
    except ma.ValidationError as error:
        return _form(values, error.messages, 422)
    photos = [f.read() for f in request.files.getlist("photos") if f.filename]
    limits = settings()
    if len(photos) > limits.public_report_max_photos:
        return _form(values, {"photos": [f"最多 {limits.public_report_max_photos} 张照片"]}, 422)
    for data in photos:
        if len(data) > limits.public_report_max_photo_bytes:
            raise TooLarge(
                "a photo is too large",
                limit=limits.public_report_max_photo_bytes,
                unit="bytes",
            )
        public_reports.strip(data, limits)  # refuses what is not a photo, before storing
    now = utcnow()
    submitted = public_reports.submit(
        body, client_ip=client_ip(), throttle=services().report_throttle, now=now
    )
    for data in photos:
        public_reports.add_photo(submitted.code, data, settings=limits, store=store(), now=now)
    shown = receipt(submitted)
    return render_template("report_done.html", receipt=shown, status=STATUS_TEXT), 201


@bp.get("/report/status")
def status():
    """The status a follow-up code shows (the form to type it when none is given)."""
    code = request.args.get("code", "").strip()
    shown = public_reports.follow_up(code) if code else None
    return render_template("report_status.html", code=code, shown=shown, status=STATUS_TEXT)


@bp.errorhandler(DomainError)
def refused(error: DomainError):
    headers = {}
    if getattr(error, "retry_after", None) is not None:
        headers["Retry-After"] = str(error.retry_after)
    page = render_template(
        "report_error.html",
        status=error.status,
        message=_MESSAGES.get(error.status, "提交未成功。"),
        detail=error.detail,
        retry_after=headers.get("Retry-After"),
    )
    return page, error.status, headers


#: What a person reads for each refusal (the English detail follows where it helps).
_MESSAGES = {
    404: "未找到该查询码对应的举报。",
    409: "该举报已处理，不能再添加照片。",
    413: "照片过大，请压缩后重试。",
    415: "只接受 JPEG、PNG 或 WebP 格式的照片。",
    422: "提交的内容有误，请检查后重试。",
    429: "提交过于频繁，请稍后再试。",
    503: "服务繁忙，请稍后再试。",
}


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)
