"""Document numbers of orders: one gapless series per issuing body and year (the year in
Asia/Shanghai), formatted by the body's own format, e.g. `（区）应急责改〔2026〕第7号`.

The number comes from a gapless counter (server.sequence.take) claimed under the order's id as
its key: the claim binds the number to the order in the step that takes it, so however often the
numbering job runs for an order, it gets the one number it took first.
"""

from __future__ import annotations

import re
from datetime import datetime

from pymongo.database import Database

from server import sequence
from server.models.issuing_body import PLACEHOLDERS
from server.services.hazards.timings import CHINA

_BRACES = re.compile(r"[{}]")


def year_of(moment: datetime) -> int:
    """The year an instant falls in, in Asia/Shanghai (an order issued at 07:30 UTC on
    31 December counts in the next year)."""
    return moment.astimezone(CHINA).year


def counter(issuing_body_id, year: int) -> str:
    """The counter of a body's numbers in one year."""
    return f"orders:{issuing_body_id}:{year}"


def format_problems(number_format: str) -> list[str]:
    """Why `number_format` cannot number orders (empty: it can)."""
    problems = []
    if "{n}" not in number_format:
        problems.append("the format must contain {n}, the number")
    rest = number_format
    for placeholder in PLACEHOLDERS:
        rest = rest.replace(placeholder, "")
    if _BRACES.search(rest):
        problems.append("only {year} and {n} may stand in braces")
    return problems


def format_number(number_format: str, *, year: int, n: int) -> str:
    """`（区）应急责改〔{year}〕第{n}号` → `（区）应急责改〔2026〕第7号`."""
    return number_format.replace("{year}", str(year)).replace("{n}", str(n))


def take(db: Database, issuing_body_id, year: int, *, key: str, now: datetime) -> int:
    """The number taken under `key` (an order id, or a reserved block's slot) in the body's
    series of `year`: the same on every call."""
    return sequence.take(db, counter(issuing_body_id, year), key=key, now=now)
