"""JSON logs on stderr, one object per line, shared by the API, the worker and the CLI; and the
id of the request being served, for whatever runs below the HTTP layer (audit events).

Flask-free: the HTTP layer sets `REQUEST_ID` when a request starts; services read it with
`current_request_id()` and never touch Flask's request globals.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

from pythonjsonlogger.json import JsonFormatter

#: The `X-Request-ID` of the request this code runs for; None outside requests (jobs, CLI).
REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return REQUEST_ID.get()


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
