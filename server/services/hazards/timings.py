"""The timings of the rectification lifecycle, loaded from the package's rectification.yaml:
the clocks that run against a hazard in given states (the deadline, the re-inspection due after
a report or a deadline, the answer to an extension request), the extension window, listing on
overdue and the close-out radius. Each states its source in the file; nothing here is a
constant of law.

Also the calendar arithmetic the clocks use: deadlines and days are reckoned in Asia/Shanghai,
"N 日" are calendar days, and a day ends at its 24:00 (docs/domain.md, "Hazards and rectification").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

TIMINGS_FILE = Path(__file__).parent / "rectification.yaml"
#: Deadlines and a number's year are reckoned in China's time (Asia/Shanghai).
CHINA = ZoneInfo("Asia/Shanghai")

OVERDUE = "overdue"
ESCALATE = "escalate"
FROM_DEADLINE, FROM_ENTERED = "deadline", "entered"
#: Who a clock can tell.
RECIPIENTS = ("inspector", "supervisors", "enterprise_managers")


@dataclass(frozen=True)
class Clock:
    """One clock of the file: runs while the hazard is in `states`, falls due `days` after its
    start (`deadline` or the instant the state was `entered`)."""

    name: str
    states: tuple[str, ...]
    start: str
    days: int
    remind_before: tuple[timedelta, ...]
    remind: tuple[str, ...]
    at_due: str
    notify: tuple[str, ...]
    source: str

    def due(self, start: datetime) -> datetime:
        """When the clock falls due for a start instant: a deadline plus whole days (it ends a
        day already), or 24:00 of the `days`-th day after an event."""
        if self.start == FROM_DEADLINE:
            return start + timedelta(days=self.days)
        return end_of_day(day_of(start) + timedelta(days=self.days))


@dataclass(frozen=True)
class Timings:
    clocks: Mapping[str, Clock]
    extension_window: timedelta
    list_on_overdue: bool
    publish_after: timedelta
    closeout_radius_m: float
    closeout_max_accuracy_m: float


def end_of_day(day: date) -> datetime:
    """A deadline "by this day" ends at 24:00 of it in Asia/Shanghai (as an aware UTC instant)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA).astimezone(UTC)


def day_of(moment: datetime) -> date:
    """The day an instant falls on in Asia/Shanghai (a naive instant is UTC, as stored)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).date()


@cache
def load(path: Path = TIMINGS_FILE) -> Timings:
    """The file, checked: every clock names its states, start, action, recipients and source."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    clocks = {}
    for name, c in raw["clocks"].items():
        if c["from"] not in (FROM_DEADLINE, FROM_ENTERED) or c["at_due"] not in (OVERDUE, ESCALATE):
            raise ValueError(f"clock {name}: unknown start or action")
        if not set(c["remind"]) | set(c["notify"]) <= set(RECIPIENTS) or not c.get("source"):
            raise ValueError(f"clock {name}: unknown recipients or no source")
        clocks[name] = Clock(
            name=name,
            states=tuple(c["states"]),
            start=c["from"],
            days=int(c["days"]),
            remind_before=tuple(timedelta(days=d) for d in c["remind_before_days"]),
            remind=tuple(c["remind"]),
            at_due=c["at_due"],
            notify=tuple(c["notify"]),
            source=c["source"],
        )
    return Timings(
        clocks=clocks,
        extension_window=timedelta(days=raw["extension_window_days"]),
        list_on_overdue=bool(raw["listing"]["on_overdue"]),
        publish_after=timedelta(days=raw["listing"]["publish_after_days"]),
        closeout_radius_m=float(raw["closeout"]["radius_m"]),
        closeout_max_accuracy_m=float(raw["closeout"]["max_accuracy_m"]),
    )
