"""Headers every answer gets right whatever made it: an answer without a body (any 204 or
304, a tus creation's 201) names no content type. Flask's default (`text/html`, on the answers
views build themselves) and flask-smorest's (`application/json`, on a 204) described nothing
and led clients, WebViews among them, to parse an empty document."""

from __future__ import annotations

from flask import Flask, Response

#: Statuses that never have a body (werkzeug drops whatever a view gave them).
NO_CONTENT = frozenset({204, 304})


def _bodiless(response: Response) -> bool:
    if response.status_code in NO_CONTENT:
        return True
    return response.status_code == 201 and not response.is_streamed and not response.get_data()


def install(app: Flask) -> None:
    @app.after_request
    def _no_type_without_a_body(response: Response) -> Response:
        if _bodiless(response):
            del response.headers["Content-Type"]
        return response
