"""The Blueprint of every resource module: flask-smorest's, with request bodies read by the
app's JSON provider (server.api.json) instead of webargs' standard-library parser.

So every JSON body is parsed once, by orjson, with the provider's depth limit, before a view or
its authentication runs; a malformed or too deep body is a 400 problem document.
"""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask import Request, current_app
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import BadRequest

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
            raise BadRequest(str(exc)) from None

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise BadRequest(f"the body is not valid JSON: {error}")


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonBodyParser()
