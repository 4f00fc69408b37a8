"""Property-based testing of the whole OpenAPI document (schemathesis), as an admin and as an
inspector: whatever a client sends, the answer is never a 5xx, and it is what the document
says — a status the operation lists, a media type it lists for that status, the headers it
requires (a JSON header parses and matches its schema), a body that matches its schema.

All phases: the document's examples, coverage (boundary values and near misses of every
constraint, unexpected methods), fuzzing (positive and negative data), and stateful sequences
that follow the links schemathesis infers from the document (an id a POST answered, used by
the GET, PATCH or POST that names it). `make test` runs them derandomized with a capped number
of examples; `make fuzz` (FUZZ_EXAMPLES=N) with N fresh random examples per operation and
role, and N scenarios.
"""

from __future__ import annotations

import json
import os

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from checklists.loader import load_templates
from checklists.versions import publish_all
from server.actor import Role
from server.app import create_app
from server.clock import utcnow
from server.config import Settings
from server.models.device import Device
from tests.environment import AUDIT_KEY, SECRET, test_settings
from tests.factories import EnterpriseFactory, UserFactory, enterprise_user


def _app():
    # Built at collection time to read its OpenAPI document; connections are lazy, and the
    # suite's `clean` fixture empties the same database before each test.
    return create_app(
        test_settings() or Settings.from_env({}, secret_key=SECRET, audit_signing_key=AUDIT_KEY)
    )


# tus PATCH bodies are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

#: 0: derandomized, EXAMPLES per operation (CI). N > 0: N fresh random examples (`make fuzz`).
EXPLORE = int(os.environ.get("FUZZ_EXAMPLES", "0"))
EXAMPLES = 15
ROLES = ("admin", "inspector")

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

SETTINGS = settings(
    # Derandomized: the same examples every run, so CI is repeatable. FUZZ_EXAMPLES=N explores
    # N fresh random examples per operation instead (every failure found so far has a
    # regression test of its own).
    derandomize=EXPLORE == 0,
    database=None,
    max_examples=EXPLORE or EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: The device the document's examples name (schemas.sync), registered to the inspector so
#: that pulls and pushes with it go past device checks.
EXAMPLE_DEVICE = "android-5f1c2b9e"


def _populate(auth_headers) -> dict:
    """People and objects for generated requests to act as, and for their ids to hit (or,
    far more often, miss): `world[role]()` is headers with a fresh token of that role's user,
    since a generated logout or password change revokes the token it was sent with."""
    enterprise = EnterpriseFactory()
    jurisdiction = enterprise.jurisdiction_id
    admin = UserFactory(role=Role.ADMIN.value)
    inspector = UserFactory(role=Role.INSPECTOR.value, jurisdiction_id=jurisdiction)
    enterprise_user(Role.WORKER, enterprise)
    Device(device_id=EXAMPLE_DEVICE, user_id=inspector.id, jurisdiction_id=jurisdiction).save()
    return {"admin": lambda: auth_headers(admin), "inspector": lambda: auth_headers(inspector)}


@pytest.fixture
def world(db, auth_headers, published):
    return _populate(auth_headers)


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@schema.parametrize()
@SETTINGS
def test_every_answer_is_what_the_document_says(case, role, world):
    case.call_and_validate(headers=world[role](), checks=CHECKS)


Workflow = schema.as_state_machine()


def test_sequences_of_calls_answer_what_the_document_says(db, redis, auth_headers):
    """As an admin, who may create what later calls name (jurisdictions, enterprises, users,
    devices, uploads). Every scenario starts from the same state, so that the same calls get
    the same answers: Hypothesis replays the beginnings of scenarios, and refuses one whose
    answers (which links can be followed) changed."""

    class AsAdmin(Workflow):
        def setup(self):
            for name in db.list_collection_names():
                db[name].delete_many({})
            redis.flushdb()
            publish_all(load_templates(), now=utcnow())
            self.world = _populate(auth_headers)

        def get_call_kwargs(self, case):
            return {"headers": self.world["admin"]()}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    AsAdmin.run(
        settings=settings(
            SETTINGS,
            max_examples=EXPLORE or 15,
            stateful_step_count=8,
            suppress_health_check=list(HealthCheck),
        )
    )
