"""JSON bodies nested past the depth limit answer 400 on every endpoint, before anything but
authentication looks at them, and leave no traceback in the log."""

from __future__ import annotations

import logging

import pytest

from server.actor import Role
from tests.factories import EnterpriseFactory, UserFactory

PROBLEM = "application/problem+json"
#: The documented limit (server.api.json.MAX_DEPTH).
MAX_DEPTH = 64
#: Past the standard library's recursion limit, under orjson's own (1024).
DEEP = 1000


def _nested_objects(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _nested_lists(depth: int) -> str:
    return "[" * depth + "]" * depth


def _expected(path: str, request_id: str) -> dict:
    return {
        "type": "/problems/bad-request",
        "title": "Bad Request",
        "status": 400,
        "detail": f"the JSON body is nested more than {MAX_DEPTH} levels deep",
        "instance": path,
        "request_id": request_id,
    }


@pytest.mark.parametrize("nest", [_nested_objects, _nested_lists])
@pytest.mark.parametrize(
    "method, path, authenticated",
    [
        ("post", "/api/v1/auth/token", False),
        ("post", "/api/v1/sync/push", True),
        ("post", "/api/v1/enterprises", True),
        ("patch", "/api/v1/enterprises/{enterprise}", True),
        ("post", "/api/v1/users", True),
        ("post", "/api/v1/devices", True),
    ],
)
def test_deep_body_is_a_400_problem_and_logs_no_error(
    client, auth_headers, caplog, method, path, authenticated, nest
):
    headers = auth_headers(UserFactory(role=Role.ADMIN.value)) if authenticated else {}
    if method == "patch":
        headers["If-Match"] = '"stale"'  # present, so the body is read before the ETag check
    path = path.format(enterprise=EnterpriseFactory().id)
    body = '{"device_id": "phone-0001", "mutations": [' + nest(DEEP) + "]}"
    with caplog.at_level(logging.INFO):
        response = getattr(client, method)(
            path, data=body, content_type="application/json", headers=headers
        )
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json() == _expected(path, response.headers["X-Request-ID"])
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_an_anonymous_body_is_not_read_where_a_token_is_needed(client):
    """Authentication comes first: 401, not a 400 or 422 about a body nobody may send."""
    for body in (_nested_objects(DEEP), '{"mutations": "not a list"}'):
        response = client.post("/api/v1/sync/push", data=body, content_type="application/json")
        assert response.status_code == 401 and response.mimetype == PROBLEM


def test_every_route_taking_a_body_answers_a_deep_one_without_a_500(app, client, caplog):
    body = _nested_lists(DEEP)
    with caplog.at_level(logging.INFO):
        for rule in app.url_map.iter_rules():
            for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH"}):
                path = rule.rule.replace("<", "").replace(">", "")
                response = client.open(
                    path, method=method, data=body, content_type="application/json"
                )
                assert response.status_code < 500, (method, path, response.get_json())
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_body_at_the_limit_is_parsed(client):
    # 64 levels of nesting inside the username: parsed, then refused by the schema (422).
    response = client.post(
        "/api/v1/auth/token",
        data='{"username": ' + _nested_lists(MAX_DEPTH - 1) + ', "password": "x"}',
        content_type="application/json",
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "username"
