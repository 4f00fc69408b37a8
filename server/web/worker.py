"""`/s/<token>`: the worker page a space's QR label opens (先扫码、后作业), zh-CN, for a phone.

Not logged in, it sends the worker to the login form and back (server.web.session). Logged in,
it shows the space, the permits in force on it now, and one-tap buttons: enter and exit for an
entrant, check-in and check-out for an attendant of the permit. A tap is a form POST (with the
session's CSRF token and a fresh nonce rendered into the form) decided by the same scan use
case as `POST /api/v1/spaces/scan` (server.services.spaces.scan); it redirects to the page
with the tap's entry event, shown as the decision with every reason in the entry rules' zh-CN
words. Before a tap the page shows what the tap would decide now (scan.preview: the same
rules, nothing recorded), so a worker sees why before walking to the manhole. The attendant
also sees who is
inside and the open alarms, and acknowledges them here. A label that does not verify (forged,
altered, rotated out) gets a refusal page, not the space.
"""

from __future__ import annotations

import uuid
from datetime import UTC

from bson import ObjectId
from flask import Blueprint, redirect, render_template, request, url_for

from server.actor import Actor
from server.api.context import settings
from server.api.scan import scan_settings
from server.clock import utcnow
from server.errors import DomainError, NotFound, RuleViolation
from server.models.alarm import Alarm, AlarmStatus
from server.models.permit import Permit, PermitStatus
from server.models.space import Space
from server.models.user import User
from server.services.auth import PasswordChangeRequired
from server.services.hazards.timings import CHINA
from server.services.spaces import alarms, labels, roster, scan, scan_log
from server.web import session

bp = Blueprint("web_worker", __name__, template_folder="templates")
session.protect(bp)

#: The taps of the page and what each button says.
ACTIONS = {
    "enter": "进入有限空间",
    "exit": "离开有限空间",
    "attendant_check_in": "监护人签到",
    "attendant_check_out": "监护人签退",
}
PERMIT_STATUS = {
    PermitStatus.APPROVED: "已审批",
    PermitStatus.ACTIVE: "作业中",
    PermitStatus.SUSPENDED: "已暂停",
}
ALARM_KIND = {
    "attendant_left": "监护人离开",
    "monitoring_out_of_limits": "检测超标",
    "overstay": "超时作业",
}


class LabelRefused(DomainError):
    """The label's token does not verify, or no longer names its space's current label."""

    status = 400
    title = "Label refused"
    type_slug = "label-refused"

    def __init__(self, code: str):
        super().__init__(labels.LABEL_REASONS[code][1])
        self.code = code


@bp.get("/s/<token>")
def space_page(token: str):
    """The space of the label, its permits and the taps this user may make; `?scan=<id>`
    shows the decision of the user's tap that led here."""
    actor = session.current_actor()
    if actor is None:
        return redirect(session.login_url(request.path))
    space = _space(token)
    return _page(actor, token, space, _decision(actor, space, request.args.get("scan")))


@bp.post("/s/<token>")
def tap(token: str):
    """One tap: the scan use case decides and records it; the page shows the decision."""
    actor = session.current_actor()
    if actor is None:
        return redirect(session.login_url(request.path), 303)
    space = _space(token)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise RuleViolation(f"unknown action {action!r}")
    nonce = request.form.get("nonce", "")
    if not 8 <= len(nonce) <= 100:
        raise RuleViolation("the form's nonce is missing: reload the page")
    outcome = scan.scan(
        actor,
        scan.ScanRequest(
            token=token,
            action=action,
            nonce=nonce,
            # The page's request is made now; its nonce alone refuses a form sent twice.
            sent_at=utcnow(),
            # The session (its token record) is the page's device: nonces are bound to it.
            device_id=f"web:{session.session_id()}",
            space_id=space.id,
        ),
        scan_settings(settings()),
        now=utcnow(),
    )
    # Post/redirect/get: reloading the page shows the decision again, it does not tap again.
    return redirect(url_for(".space_page", token=token, scan=outcome["scan_id"]), 303)


@bp.post("/s/<token>/alarms/<alarm_id>/acknowledgement")
def acknowledge(token: str, alarm_id: str):
    """Acknowledge an alarm of this space (an attendant's closes it), back to the page."""
    actor = session.current_actor()
    if actor is None:
        return redirect(session.login_url(url_for(".space_page", token=token)), 303)
    space = _space(token)
    if alarms.read(actor, alarm_id)["space_id"] != space.id:
        raise NotFound(f"alarm {alarm_id} not found")
    alarms.acknowledge(actor, alarm_id, now=utcnow())
    return redirect(url_for(".space_page", token=token), 303)


def _space(token: str) -> Space:
    """The space whose current label this token is, or LabelRefused."""
    try:
        label = labels.verify(token, scan_settings(settings()).keys)
    except labels.LabelError as error:
        raise LabelRefused(error.code) from None
    space = Space.objects(id=label.space_id).first()
    if space is None:
        raise LabelRefused(labels.OTHER_SPACE)
    if label.version != space.label_version:
        raise LabelRefused(labels.ROTATED)
    return space


def _decision(actor: Actor, space: Space, scan_id: str | None) -> dict | None:
    """The decision of one of the actor's taps at this space, or None."""
    if not scan_id or not scan_id.isascii() or len(scan_id) > 64:
        return None
    return scan_log.decision(scan_id, by=actor.user_id, space_id=space.id)


def _page(actor: Actor, token: str, space: Space, outcome: dict | None):
    now = utcnow()
    permits = list(
        Permit.objects(
            space_id=space.id,
            status__in=list(PermitStatus.IN_FORCE),
            valid_from__lte=now,
            valid_to__gte=now,
        )
        .order_by("-valid_from")
        .limit(5)
    )
    attending = any(actor.user_id in p.attendants for p in permits)
    present = roster.current(space.id)
    open_alarms = list(
        Alarm.objects.for_actor(actor)
        .filter(space_id=space.id, status=AlarmStatus.OPEN)
        .order_by("-raised_at")
    )
    action = _next_action(actor, present, attending)
    preview = None
    if outcome is None:
        space_raw = space.to_mongo().to_dict()
        config = scan_settings(settings())
        preview = scan.preview(actor, space_raw, action, config, now=now, token=token)
    people = [*(present.get("inside") or ()), *(present.get("attendants") or ())]
    names = _names(permits, people + [a for p in permits for a in p.attendants])
    page = render_template(
        "space.html",
        space=space,
        token=token,
        permits=permits,
        permit_status=PERMIT_STATUS,
        attending=attending,
        actions=("attendant_check_in", "attendant_check_out") if attending else ("enter", "exit"),
        labels=ACTIONS,
        nonce=uuid.uuid4().hex,
        outcome=outcome,
        preview=preview,
        roster=present,
        names=names,
        alarms=open_alarms,
        alarm_kind=ALARM_KIND,
        user=session.current_user(),
        local=_local,
    )
    return page, 200


def _next_action(actor: Actor, present: dict, attending: bool) -> str:
    """The tap this user would make next: in or out, checked in or out."""
    if attending:
        checked_in = actor.user_id in (present.get("attendants") or ())
        return "attendant_check_out" if checked_in else "attendant_check_in"
    return "exit" if actor.user_id in (present.get("inside") or ()) else "enter"


def _names(permits: list[Permit], ids: list) -> dict:
    """Display names by user id: the permit's entrant names, else the account's."""
    found = {
        u["_id"]: u["display_name"]
        for u in User._get_collection().find(
            {"_id": {"$in": [ObjectId(i) for i in ids]}}, {"display_name": 1}
        )
    }
    for permit in permits:
        for entrant in permit.entrants:
            if entrant.get("user_id") and entrant.get("name"):
                found[ObjectId(entrant["user_id"])] = entrant["name"]
    return {str(k): v for k, v in found.items()}


def _local(instant) -> str:
    """An instant as a worker reads it (Asia/Shanghai)."""
    if instant is None:
        return ""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant.astimezone(CHINA).strftime("%m-%d %H:%M")


@bp.errorhandler(DomainError)
def refused(error: DomainError):
    if isinstance(error, LabelRefused):
        title = "二维码无效，禁止凭此进入"
        message = labels.LABEL_REASONS[error.code][0] + "。请联系现场负责人核对标签。"
    elif isinstance(error, PasswordChangeRequired):
        title, message = "请先修改密码", "您的密码已被重置，请先在 App 中设置新密码，再扫码。"
    else:
        title, message = "操作未完成", _MESSAGES.get(error.status, "操作未完成，请刷新页面后重试。")
    page = render_template(
        "refused.html", title=title, message=message, detail=error.detail, back=request.path
    )
    return page, error.status


#: What a person reads for each refusal (the English detail follows where it helps).
_MESSAGES = {
    403: "您无权为他人扫码：只有作业票的监护人或企业负责人可以。",
    404: "未找到该报警或有限空间。",
    409: "该操作已提交过（重复提交），未再次执行。请刷新页面后重试。",
    422: "提交的内容有误，请刷新页面后重试。",
    429: "操作过于频繁，请稍后再试。",
}
