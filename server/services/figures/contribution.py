"""What one hazard or one inspection adds to the figures, from its current state alone: the
cell it is counted in and its member entry there. Pure functions of a raw document, so that
the incremental path and the full recount cannot disagree about a document.

A hazard counts as `open` (any state not final; `overdue` too when the system marked it so),
`closed` (rectified: closed, or rectified on the spot), `penalized` (failed and fined) or
`withdrawn` (counted in no rate). Its campaign is the checklist that found it (CS, HW, FH, OC;
`none` for a self-report or a finding without one). Days to close run from its registration to
the transition that closed it, in whole days. A re-inspection is on time when it started by
the due date of the clock running in the state it started from (15号令 Art.17: 10 日 after the
firm's report or after the deadline; server/services/hazards/rectification.yaml).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bson import ObjectId

from server.models.figures import HAZARDS, INSPECTIONS
from server.models.inspection import Status
from server.services.hazards import states
from server.services.hazards.timings import FROM_DEADLINE, day_of
from server.services.hazards.timings import load as load_timings

OPEN, OVERDUE, CLOSED, PENALIZED, WITHDRAWN = (
    "open",
    "overdue",
    "closed",
    "penalized",
    "withdrawn",
)
#: Final states by what they count as; every other state is open.
FINAL_AS = {
    states.CLOSED: CLOSED,
    states.RECTIFIED_ON_SITE: CLOSED,
    states.PENALTY: PENALIZED,
    states.WITHDRAWN: WITHDRAWN,
}
ON_TIME, LATE = "on_time", "late"
NO_CAMPAIGN = "none"
#: Transitions that begin a re-inspection (the first of them is the one judged).
_REINSPECTING = ("start_reinspection", "record_reinspection")

# A member is a list, small on the wire and in the cell: its fields by position.
REV, STATUS, DAYS, REPEAT, REINSPECTION = range(5)


def cell_of_hazard(raw: dict) -> str:
    return "|".join(
        (
            "h",
            str(raw["jurisdiction_id"]),
            str(raw["enterprise_id"]),
            campaign(raw),
            raw["level"],
            month_of(raw["created_at"]),
        )
    )


def cell_of_inspection(raw: dict) -> str | None:
    """None for an inspection that counts nowhere (a draft, a deleted one)."""
    if raw.get("status") != Status.SUBMITTED or raw.get("deleted_at"):
        return None
    return "|".join(
        (
            "i",
            str(raw["jurisdiction_id"]),
            str(raw["enterprise_id"]),
            str(raw["inspector_id"]),
            month_of(raw.get("submitted_at") or raw["created_at"]),
        )
    )


def cell_fields(key: str) -> dict:
    """The fields a new cell is stored with, read back from its key."""
    parts = key.split("|")
    if parts[0] == "h":
        _, j, e, camp, level, month = parts
        return {
            "kind": HAZARDS,
            "jurisdiction_id": ObjectId(j),
            "enterprise_id": ObjectId(e),
            "campaign": camp,
            "level": level,
            "month": month,
        }
    _, j, e, inspector, month = parts
    return {
        "kind": INSPECTIONS,
        "jurisdiction_id": ObjectId(j),
        "enterprise_id": ObjectId(e),
        "inspector_id": ObjectId(inspector),
        "month": month,
    }


def campaign(raw: dict) -> str:
    return raw.get("checklist_code") or NO_CAMPAIGN


def month_of(moment: datetime) -> str:
    return day_of(moment).strftime("%Y-%m")


def hazard_member(raw: dict) -> list:
    """`[rev, status, days to close | None, repeat 0/1, re-inspection on_time/late | None]`."""
    status = FINAL_AS.get(raw["state"], OVERDUE if raw["state"] == states.OVERDUE else OPEN)
    return [
        raw.get("sync_rev", 0),
        status,
        _days_to_close(raw) if status == CLOSED else None,
        1 if raw.get("repeat_of") else 0,
        _reinspection(raw),
    ]


def inspection_member(raw: dict) -> list:
    """`[rev, unannounced 0/1]` (四不两直: unannounced, straight to the site)."""
    return [raw.get("sync_rev", 0), 1 if raw.get("unannounced") else 0]


def member_of(collection: str, raw: dict) -> tuple[str | None, list]:
    """The cell a document counts in (None: nowhere) and its member entry there."""
    if collection == HAZARDS:
        return cell_of_hazard(raw), hazard_member(raw)
    return cell_of_inspection(raw), inspection_member(raw)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _days_to_close(raw: dict) -> int:
    closing = [h for h in raw.get("history") or () if FINAL_AS.get(h.get("to")) == CLOSED]
    closed_at = closing[-1]["at"] if closing else raw.get("updated_at") or raw["created_at"]
    seconds = (_aware(closed_at) - _aware(raw["created_at"])).total_seconds()
    return max(0, int(seconds // 86400))


def _reinspection(raw: dict) -> str | None:
    history = raw.get("history") or []
    for i, entry in enumerate(history):
        if entry.get("action") not in _REINSPECTING:
            continue
        due = _due(raw, entry["from"], history[:i])
        if due is None:
            return None
        return ON_TIME if _aware(entry["at"]) <= due else LATE
    return None


def _due(raw: dict, state: str, before: list[dict]) -> datetime | None:
    """When the clock running in `state` fell due (None: no clock runs in it)."""
    dues = []
    for clock in load_timings().clocks.values():
        if state not in clock.states:
            continue
        if clock.start == FROM_DEADLINE:
            start = raw.get("deadline")
        else:
            entered = [h["at"] for h in before if h.get("to") == state]
            start = entered[-1] if entered else None
        if start is not None:
            dues.append(clock.due(_aware(start)))
    return min(dues) if dues else None
