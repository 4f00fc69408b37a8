"""Request ids and access logs: every request gets an id (`X-Request-ID`), echoed in the
response, in problem documents, on every log line written while serving it, and in the audit
events it causes (through `server.logs.REQUEST_ID`)."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, has_request_context, request

from server.logs import REQUEST_ID

log = logging.getLogger("server.access")

_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to log records written inside a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def install(app: Flask) -> None:
    @app.before_request
    def _start():
        # A phone may send its own id to correlate retries; anything odd is replaced.
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _CLIENT_ID.match(sent) else uuid.uuid4().hex
        REQUEST_ID.set(g.request_id)  # for the use cases below the view (audit events)
        g.started = time.perf_counter()

    @app.teardown_request
    def _forget(_exc):
        REQUEST_ID.set(None)  # threads serve many requests: nothing leaks into the next one

    @app.after_request
    def _finish(response):
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1)
                if started
                else None,
                "user_id": str(g.user.id) if "user" in g else None,
            },
        )
        return response
