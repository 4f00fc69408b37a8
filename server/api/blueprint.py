"""The Blueprint of every resource module: flask-smorest's, with request bodies read by the
app's JSON provider (server.api.json) instead of webargs' standard-library parser.

So every JSON body is parsed once, by orjson, with the provider's depth limit; a malformed or
too deep body is a 400 problem document. The caller is authenticated before any of that.
Each argument schema is made once, not per request.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Request, current_app, request
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest

from server.api.context import current_actor, verify_caller_before_refusal
from server.api.json import TooDeep


class JsonBodyParser(FlaskParser):
    """webargs' Flask parser, reading JSON through `current_app.json`."""

    def _raw_load_json(self, req: Request) -> Any:
        if not is_json_request(req):
            return core.missing
        try:
            # An empty body raises JSONDecodeError with an empty doc: webargs reads it as
            # "no body", as with its own parser.
            return current_app.json.loads(req.get_data(cache=True))
        except TooDeep as exc:
            verify_caller_before_refusal()
            raise BadRequest(str(exc)) from None

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        verify_caller_before_refusal()
        raise BadRequest(f"the body is not valid JSON: {error}")

    def handle_error(self, error, req, schema, *, error_status_code, error_headers):
        verify_caller_before_refusal()
        super().handle_error(
            error, req, schema, error_status_code=error_status_code, error_headers=error_headers
        )

    def _get_schema(self, argmap, req: Request) -> ma.Schema:
        # webargs makes a schema of a class anew for every request, deep-copying its fields
        # (75 µs for the scan's, three times what loading its body takes); loading keeps
        # nothing on the instance, so one per class serves every thread, as flask-smorest's
        # response schemas already do.
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            return _schema(argmap)
        return super()._get_schema(argmap, req)


@cache
def _schema(cls: type[ma.Schema]) -> ma.Schema:
    return cls()


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonBodyParser()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.before_request(_authenticate_first)


def _authenticate_first() -> None:
    """Who is calling is settled before the body or If-Match is looked at: an anonymous request
    to an operation that needs a token gets 401, never a 422 that describes what it would
    have had to send. Operations documented with `security=[]` are public; a preflight carries
    no credentials."""
    if request.method == "OPTIONS":
        return
    view = current_app.view_functions.get(request.endpoint)
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), view)
    if getattr(handler, "_apidoc", {}).get("manual_doc", {}).get("security") == []:
        return
    current_actor(choosing_password=True, reverified=getattr(handler, REVERIFIES, False))


REVERIFIES = "_reverifies_caller"


def reverifies_caller(view):
    """Mark a view whose use case verifies the caller's token again in its own read
    (server.api.context.caller_to_verify): its request is let in by a token this process let
    in lately without a read of its own (server.services.auth.RecentTokens)."""
    setattr(view, REVERIFIES, True)
    return view
