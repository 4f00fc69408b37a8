"""The hazard lifecycle as data: its states, and per transition the states it leaves, the state
it enters, who may take it, what the request must carry and which rules must hold.

The facts behind each row are in docs/domain.md, "Hazards and rectification": the order to
rectify by a deadline and its re-inspection (15号令 Art.14, 17), interim measures (暂时不能整改
的，制定防范方案并落实防范措施), listing and delisting (挂牌 / 摘牌), escalation actions
(提醒、督办、通报、约谈、函告、曝光) and failed → penalty on the firm and on the responsible
persons (一案双罚). Listing, escalations and the level are not lifecycle states: a listed hazard is
still rectified, reported and closed, so those transitions keep the state (`target` None) and
change what they name.

Pure data and pure checks: `server.services.hazards.lifecycle` applies a transition; the table
is served read-only at `GET /api/v1/hazards/transitions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from server.actor import Role
from server.models.hazard import Level
from server.services.hazards.timings import load as load_timings

FOUND = "found"
RECTIFIED_ON_SITE = "rectified_on_site"
ISSUED = "issued"
IN_PROGRESS = "in_progress"
INTERIM_MEASURES = "interim_measures"
EXTENSION_REQUESTED = "extension_requested"
REPORTED = "reported"
OVERDUE = "overdue"
REINSPECTION = "reinspection"
CLOSED = "closed"
FAILED = "failed"
PENALTY = "penalty"
WITHDRAWN = "withdrawn"

STATES = (
    FOUND,
    RECTIFIED_ON_SITE,
    ISSUED,
    IN_PROGRESS,
    INTERIM_MEASURES,
    EXTENSION_REQUESTED,
    REPORTED,
    OVERDUE,
    REINSPECTION,
    CLOSED,
    FAILED,
    PENALTY,
    WITHDRAWN,
)
#: The firm has to act: an order runs against it.
UNDER_ORDER = (ISSUED, IN_PROGRESS, INTERIM_MEASURES, EXTENSION_REQUESTED, OVERDUE)
#: Nothing further happens to the hazard itself.
FINAL = (RECTIFIED_ON_SITE, CLOSED, PENALTY, WITHDRAWN)
OPEN = tuple(s for s in STATES if s not in FINAL)

#: A transition the system takes by itself (a timer), with no user acting.
SYSTEM = "system"
INSPECTING = frozenset({Role.INSPECTOR, Role.SUPERVISOR})
FIRM = frozenset({Role.ENTERPRISE_MANAGER})
SUPERVISING = frozenset({Role.SUPERVISOR})

#: 提醒、督办、通报、约谈、函告、曝光 (docs/domain.md), in rising order.
ESCALATIONS = ("remind", "supervise", "notify", "summon", "letter", "expose")
#: The plan of a major hazard (五落实: 责任、措施、资金、时限、预案; docs/domain.md).
PLAN_FIELDS = ("measures", "funds", "deadline", "responsible_person", "contingency")
#: An extension is requested within the last 10 days before the deadline (15号令 Art.17,
#: calendar days: server/services/hazards/rectification.yaml).
EXTENSION_WINDOW = load_timings().extension_window


@dataclass(frozen=True)
class Transition:
    """One row of the table."""

    action: str
    sources: tuple[str, ...]
    #: The state entered; None: the state stays (level, listing, escalations).
    target: str | None
    #: Roles that may take it; SYSTEM for the system's own (timers).
    who: frozenset
    #: Request fields that must be present and non-empty.
    requires: tuple[str, ...] = ()
    #: Names of rules (RULES) that must hold.
    rules: tuple[str, ...] = ()
    #: Where the transition comes from (docs/domain.md, "Hazards and rectification").
    basis: str = ""

    def as_row(self) -> dict:
        return {
            "action": self.action,
            "from": list(self.sources),
            "to": self.target,
            "who": sorted(str(w) for w in self.who),
            "requires": list(self.requires),
            "rules": list(self.rules),
            "basis": self.basis,
        }


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "rectify_on_site",
        (FOUND,),
        RECTIFIED_ON_SITE,
        INSPECTING,
        ("photos", "note"),
        ("general_only",),
        "能立即排除的，责令立即排除 (15号令 Art.14); field record (SPL Art.68)",
    ),
    Transition(
        "issue",
        (FOUND,),
        ISSUED,
        # The system: when an order is served (server.services.hazards.service).
        INSPECTING | {SYSTEM},
        ("deadline",),
        ("deadline_ahead",),
        "责令限期整改 (15号令 Art.17); deadlines run from the order's service",
    ),
    Transition(
        "reissue",
        UNDER_ORDER,
        ISSUED,
        frozenset({SYSTEM}),
        ("deadline",),
        ("deadline_ahead",),
        "a correcting order, once served, is the order the firm works to: its deadline runs "
        "from its own service (15号令 Art.17) and the firm acknowledges it afresh",
    ),
    Transition(
        "acknowledge",
        (ISSUED,),
        IN_PROGRESS,
        FIRM,
        (),
        ("plan_if_major",),
        "major: plan with 五落实 (16号令 Art.15)",
    ),
    Transition(
        "interim_measures",
        (ISSUED, IN_PROGRESS),
        INTERIM_MEASURES,
        FIRM,
        ("measures",),
        (),
        "暂时不能整改的，制定防范方案并落实防范措施 (campaign practice)",
    ),
    Transition(
        "request_extension",
        (IN_PROGRESS, INTERIM_MEASURES),
        EXTENSION_REQUESTED,
        FIRM,
        ("reason", "deadline"),
        ("within_extension_window", "later_deadline"),
        "限期届满前10日内 (15号令 Art.17)",
    ),
    Transition(
        "grant_extension",
        (EXTENSION_REQUESTED,),
        IN_PROGRESS,
        SUPERVISING,
        ("deadline",),
        ("later_deadline",),
        "answered within 5 日 (15号令 Art.17)",
    ),
    Transition(
        "refuse_extension",
        (EXTENSION_REQUESTED,),
        IN_PROGRESS,
        SUPERVISING,
        ("reason",),
        (),
        "15号令 Art.17",
    ),
    Transition(
        "report_rectified",
        (IN_PROGRESS, INTERIM_MEASURES, OVERDUE),
        REPORTED,
        FIRM,
        ("photos", "note"),
        (),
        "the firm reports it done, with photos (15号令 Art.17)",
    ),
    Transition(
        "mark_overdue",
        (ISSUED, IN_PROGRESS, INTERIM_MEASURES, EXTENSION_REQUESTED),
        OVERDUE,
        frozenset({SYSTEM}),
        (),
        (),
        "the deadline passed without a report (15号令 Art.17)",
    ),
    Transition(
        "start_reinspection",
        (REPORTED, OVERDUE),
        REINSPECTION,
        INSPECTING,
        (),
        (),
        "re-inspection within 10 日 of the report or the deadline (15号令 Art.17)",
    ),
    Transition(
        "record_reinspection",
        (REINSPECTION,),
        None,
        INSPECTING,
        ("reinspection",),
        ("reinspected_at_place",),
        "the re-inspection on site, its record and photos taken at the hazard's place (GPS "
        "within the radius, or the space's label): not on paper (16号令 Art.18; "
        "server/services/hazards/closeout.py)",
    ),
    Transition(
        "apply_closeout",
        (REPORTED, REINSPECTION),
        None,
        FIRM,
        ("application",),
        (),
        "a major's close-out on the firm's written application (16号令 Art.18)",
    ),
    Transition(
        "close",
        (REINSPECTION,),
        CLOSED,
        INSPECTING,
        ("note",),
        ("major_by_supervisor_on_application", "reinspected_at_place"),
        "销号 after a re-inspection at the place; major: the firm's written application and "
        "the regulator's approval after an on-site check (16号令 Art.18)",
    ),
    Transition(
        "fail",
        (REINSPECTION,),
        FAILED,
        INSPECTING,
        ("reason",),
        (),
        "未整改或不合格 (15号令 Art.17)",
    ),
    Transition(
        "penalize",
        (FAILED,),
        PENALTY,
        SUPERVISING,
        ("penalty",),
        ("both_penalized",),
        "SPL Art.102; penalties on the firm and the responsible persons (一案双罚)",
    ),
    Transition(
        "withdraw",
        (FOUND, ISSUED, IN_PROGRESS, INTERIM_MEASURES, EXTENSION_REQUESTED),
        WITHDRAWN,
        SUPERVISING | {SYSTEM},
        ("reason",),
        (),
        "a correcting record drops it, or a supervisor finds it was none (docs/domain.md)",
    ),
    Transition(
        "confirm_level",
        OPEN,
        None,
        SUPERVISING,
        (),
        ("level_unconfirmed",),
        "major to be confirmed before any supervised listing (checklists v2)",
    ),
    Transition(
        "set_level",
        OPEN,
        None,
        SUPERVISING,
        ("level", "reason"),
        (),
        "a supervisor overrides the level with a reason (docs/domain.md)",
    ),
    Transition(
        "list",
        OPEN,
        None,
        SUPERVISING | {SYSTEM},
        (),
        ("confirmed_major", "not_listed"),
        "挂牌督办, published; by the system when a confirmed major is overdue "
        "(server/services/hazards/rectification.yaml)",
    ),
    Transition(
        "delist",
        (CLOSED,),
        None,
        SUPERVISING,
        (),
        ("listed",),
        "摘牌 after 销号, published (docs/domain.md)",
    ),
    Transition(
        "escalate",
        UNDER_ORDER + (REPORTED, FAILED),
        None,
        SUPERVISING,
        ("escalation", "note"),
        (),
        "提醒、督办、通报、约谈、函告、曝光 (docs/domain.md)",
    ),
)

BY_ACTION: Mapping[str, Transition] = {t.action: t for t in TRANSITIONS}
ACTIONS = tuple(BY_ACTION)


def _general_only(hazard: dict, params: dict, now: datetime) -> str | None:
    if hazard["level"] != Level.GENERAL:
        return "a major hazard is not rectified on the spot: it needs an order and a plan"
    return None


def _deadline_ahead(hazard: dict, params: dict, now: datetime) -> str | None:
    if params["deadline"] <= now:
        return "the deadline must be in the future"
    return None


def _plan_if_major(hazard: dict, params: dict, now: datetime) -> str | None:
    if hazard["level"] != Level.MAJOR:
        return None
    plan = params.get("plan") or hazard.get("plan") or {}
    missing = [f for f in PLAN_FIELDS if not plan.get(f)]
    if missing:
        return f"a major hazard's plan must name {', '.join(missing)} (五落实)"
    return None


def _within_extension_window(hazard: dict, params: dict, now: datetime) -> str | None:
    deadline = hazard.get("deadline")
    if deadline is None or not deadline - EXTENSION_WINDOW <= now < deadline:
        return "an extension is requested within the last 10 days before the deadline"
    return None


def _later_deadline(hazard: dict, params: dict, now: datetime) -> str | None:
    deadline = hazard.get("deadline")
    if deadline is not None and params["deadline"] <= deadline:
        return "the new deadline must be later than the current one"
    return None


def _major_by_supervisor_on_application(hazard: dict, params: dict, now: datetime) -> str | None:
    if hazard["level"] != Level.MAJOR:
        return None
    if params.get("role") is not Role.SUPERVISOR:
        return "a major hazard is closed by a supervisor"
    if not params.get("application") and not hazard.get("closeout_application"):
        return "a major hazard is closed on the firm's written application"
    return None


def _reinspected_at_place(hazard: dict, params: dict, now: datetime) -> list[dict] | None:
    # Judged by server.services.hazards.closeout (it reads the place, the label and the
    # photos) before the rules run; here only its verdict.
    return params.get("place_reasons") or None


def _both_penalized(hazard: dict, params: dict, now: datetime) -> str | None:
    penalty = params["penalty"]
    if not penalty.get("firm") or not penalty.get("persons"):
        return "a penalty names the firm's and the responsible persons' (一案双罚)"
    return None


def _level_unconfirmed(hazard: dict, params: dict, now: datetime) -> str | None:
    if hazard.get("level_confirmed", True):
        return "the level is confirmed already"
    return None


def _confirmed_major(hazard: dict, params: dict, now: datetime) -> str | None:
    if hazard["level"] != Level.MAJOR or not hazard.get("level_confirmed", True):
        return "only a confirmed major hazard is listed"
    return None


def _not_listed(hazard: dict, params: dict, now: datetime) -> str | None:
    return "the hazard is listed already" if hazard.get("listing") == "listed" else None


def _listed(hazard: dict, params: dict, now: datetime) -> str | None:
    return None if hazard.get("listing") == "listed" else "the hazard is not listed"


#: Rules by name: `rule(hazard, params, now)` → why it fails (a sentence, or reasons with
#: their own codes), or None.
RULES: Mapping[str, Callable[[dict, dict, datetime], str | list[dict] | None]] = {
    "general_only": _general_only,
    "deadline_ahead": _deadline_ahead,
    "plan_if_major": _plan_if_major,
    "within_extension_window": _within_extension_window,
    "later_deadline": _later_deadline,
    "major_by_supervisor_on_application": _major_by_supervisor_on_application,
    "reinspected_at_place": _reinspected_at_place,
    "both_penalized": _both_penalized,
    "level_unconfirmed": _level_unconfirmed,
    "confirmed_major": _confirmed_major,
    "not_listed": _not_listed,
    "listed": _listed,
}


def refusals(transition: Transition, hazard: dict, params: dict, now: datetime) -> list[dict]:
    """Why `transition` may not be taken on `hazard` with `params` (empty: it may). The role
    is checked by the caller (it decides between 403 and these 422 reasons)."""
    reasons = []
    if hazard["state"] not in transition.sources:
        reasons.append(
            {
                "code": "WRONG_STATE",
                "state": hazard["state"],
                "detail": f"{transition.action} is taken from {', '.join(transition.sources)}",
            }
        )
    missing = [f for f in transition.requires if params.get(f) in (None, "", [], {})]
    reasons += [{"code": "REQUIRED", "field": f} for f in missing]
    if reasons:
        return reasons
    for name in transition.rules:
        why = RULES[name](hazard, params, now)
        if isinstance(why, list):
            reasons += why
        elif why:
            reasons.append({"code": name.upper(), "detail": why})
    return reasons


def table() -> list[dict]:
    """The table as rows (the API serves it, the closing note prints it)."""
    return [t.as_row() for t in TRANSITIONS]
