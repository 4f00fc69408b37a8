"""The case files' words (data/casefile.yaml beside this module), read once."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

TEXT_FILE = Path(__file__).resolve().parent / "data" / "casefile.yaml"


@cache
def text() -> dict:
    return yaml.safe_load(TEXT_FILE.read_text(encoding="utf-8"))


def name(group: str, code: str | None) -> str:
    """The word for `code` in `group` (states, actions, …), else the code itself."""
    if code is None:
        return ""
    return text()[group].get(code, code)
