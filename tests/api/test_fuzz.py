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

import os

import pytest
from hypothesis import HealthCheck, settings

from checklists import gas_versions
from checklists.loader import load_editions
from checklists.versions import publish_editions
from media.holder import HOLDERS
from server.actor import Role
from server.clock import utcnow
from server.models.device import Device
from tests.api.conformance import CHECKS, schema
from tests.factories import EnterpriseFactory, UserFactory, enterprise_user

#: 0: derandomized, EXAMPLES fuzzed per operation and role, SCENARIOS stateful ones (CI; on
#: top of the document's examples and the coverage phase, which are not capped). N > 0: N
#: fresh random examples and scenarios (`make fuzz`).
EXPLORE = int(os.environ.get("FUZZ_EXAMPLES", "0"))
EXAMPLES, SCENARIOS = 8, 10
ROLES = ("admin", "inspector")

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


def _empty(db) -> None:
    for name in db.list_collection_names():
        db[name].delete_many({})


@pytest.fixture(scope="module")
def published_documents(db) -> dict[str, list[dict]]:
    """What publishing the shipped editions writes (as the `published` fixture does), captured
    once: inserting it again is far cheaper than publishing for every operation and role."""
    _empty(db)
    publish_editions(load_editions(), now=utcnow())
    gas_versions.publish_editions(gas_versions.load_gas_editions(), now=utcnow())
    # Not the upload heartbeats: a thread of this process rewrites them meanwhile.
    names = [n for n in db.list_collection_names() if n != HOLDERS]
    documents = {name: list(db[name].find()) for name in names}
    _empty(db)
    return documents


def _publish(db, documents: dict[str, list[dict]]) -> None:
    for name, found in documents.items():
        if found:
            db[name].insert_many([dict(document) for document in found])


@pytest.fixture
def world(db, auth_headers, published_documents):
    _publish(db, published_documents)
    return _populate(auth_headers)


@pytest.fixture(params=ROLES)
def role(request):
    return request.param


@schema.parametrize()
@SETTINGS
def test_every_answer_is_what_the_document_says(case, role, world):
    case.call_and_validate(headers=world[role](), checks=CHECKS)


Workflow = schema.as_state_machine()


def test_sequences_of_calls_answer_what_the_document_says(
    db, redis, auth_headers, published_documents
):
    """As an admin, who may create what later calls name (jurisdictions, enterprises, users,
    devices, uploads). Every scenario starts from the same state, so that the same calls get
    the same answers: Hypothesis replays the beginnings of scenarios, and refuses one whose
    answers (which links can be followed) changed."""

    class AsAdmin(Workflow):
        def setup(self):
            _empty(db)
            redis.flushdb()
            _publish(db, published_documents)
            self.world = _populate(auth_headers)

        def get_call_kwargs(self, case):
            return {"headers": self.world["admin"]()}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    AsAdmin.run(
        settings=settings(
            SETTINGS,
            max_examples=EXPLORE or SCENARIOS,
            stateful_step_count=8,
            suppress_health_check=list(HealthCheck),
        )
    )
