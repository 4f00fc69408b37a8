"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis): whatever
a client sends, the answer is never a 500, and every error is a problem document."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from server.actor import Role
from server.app import create_app
from server.config import Settings
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


EXPLORE = int(os.environ.get("FUZZ_EXAMPLES", "0"))

schema = schemathesis.openapi.from_wsgi("/openapi.json", _app())


@pytest.fixture
def world(db, auth_headers, published):
    """Objects for generated ids to hit (or, far more often, miss)."""
    enterprise = EnterpriseFactory()
    admin = UserFactory(role=Role.ADMIN.value)
    enterprise_user(Role.WORKER, enterprise)
    return {"admin": auth_headers(admin)}


@schema.parametrize()
@settings(
    # Derandomized: the same examples every run, so CI is repeatable. FUZZ_EXAMPLES=N explores
    # N fresh random examples per operation instead (every failure found so far has a
    # regression test of its own).
    derandomize=EXPLORE == 0,
    database=None,
    max_examples=EXPLORE or 40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_input_makes_a_500_and_errors_are_problems(case, world):
    response = case.call(headers=world["admin"])
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        content_type = {k.lower(): v for k, v in response.headers.items()}["content-type"]
        assert str(content_type).find("application/problem+json") >= 0, (case, response.text)
