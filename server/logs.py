"""JSON logs on stderr, one object per line, shared by the API, the worker and the CLI."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: str = "INFO", *filters: logging.Filter) -> None:
    """Send every record as one JSON line to stderr; `filters` add context (e.g. request id)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    for f in filters:
        handler.addFilter(f)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_safety_json", False)]:
        root.removeHandler(old)
    handler._safety_json = True
    root.addHandler(handler)
    root.setLevel(level.upper())
