"""The wording and limits of orders (server/services/hazards/data/order.yaml), loaded once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

TEXT_FILE = Path(__file__).resolve().parent / "data" / "order.yaml"


@cache
def text() -> dict:
    """The order's wording, labels, the check page's words and the term limits."""
    return yaml.safe_load(TEXT_FILE.read_text(encoding="utf-8"))


def term_limits() -> tuple[int, int]:
    """Fewest and most calendar days an order may give (min, max)."""
    days = text()["term_days"]
    return days["min"], days["max"]
