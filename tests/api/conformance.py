"""The OpenAPI document as schemathesis reads it, and the checks that an answer is what it
says: no 5xx; a status the operation lists; a media type listed for that status; the headers
it requires, each matching its schema (a JSON header, `X-Pagination`, is parsed and matched by
`json_headers_conformance`); a body matching its schema. tests/api/test_fuzz.py generates the
requests; `conforms` checks an answer that a test obtained itself."""

from __future__ import annotations

import json

import jsonschema_rs
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server.app import create_app
from server.config import Settings
from tests.environment import AUDIT_KEY, SECRET, test_settings


def _app():
    # Built at collection time to read its OpenAPI document; connections are lazy, and the
    # suite's `clean` fixture empties the same database before each test.
    return create_app(
        test_settings() or Settings.from_env({}, secret_key=SECRET, audit_signing_key=AUDIT_KEY)
    )


# tus PATCH bodies are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

schema = schemathesis.openapi.from_wsgi("/openapi.json", _app())
DOCUMENT = schema.raw_schema


def _definition(node: dict) -> dict:
    """`node`, or the component its `$ref` names."""
    if "$ref" not in node:
        return node
    found = DOCUMENT
    for part in node["$ref"].removeprefix("#/").split("/"):
        found = found[part]
    return found


def json_headers_conformance(ctx, response, case):
    """A header whose documented content is JSON (`X-Pagination`) parses and matches its
    schema: schemathesis validates headers that have a `schema`, not those with `content`."""
    # The coverage phase also sends methods the path does not have (405 is all they get).
    operation = DOCUMENT["paths"][case.operation.path].get(case.method.lower(), {})
    definition = operation.get("responses", {}).get(str(response.status_code))
    if definition is None:
        return None
    definition = _definition(definition)
    for name, header in definition.get("headers", {}).items():
        header = _definition(header)
        media = header.get("content", {}).get("application/json")
        values = response.headers.get(name.lower())
        if media is None or not values:
            continue
        # The validator schemathesis itself uses; `$ref`s resolve against the components.
        validator = jsonschema_rs.validator_for(
            {**media["schema"], "components": DOCUMENT["components"]}
        )
        errors = [error.message for error in validator.iter_errors(json.loads(values[0]))]
        assert not errors, f"{name}: {values[0]} does not match its schema: {errors}"
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    json_headers_conformance,
]


def conforms(response, method: str, path: str, **path_parameters) -> None:
    """Fail unless `response` (a Flask test client's) is what the document says `method path`
    answers."""
    case = schema[path][method.upper()].Case(path_parameters=path_parameters or None)
    case.validate_response(response, checks=CHECKS)
