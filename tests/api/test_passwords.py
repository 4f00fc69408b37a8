"""Passwords: a stolen bearer token never becomes a lasting takeover. One's own password
changes only with the current one (wrong guesses throttled like logins); someone who manages
a user resets it to a temporary one that must be replaced at the next login; both revoke every
token and are audited."""

from __future__ import annotations

import pytest

from server.actor import Role
from server.models.user import User
from tests.audit.helpers import stored
from tests.factories import (
    PASSWORD,
    EnterpriseFactory,
    JurisdictionFactory,
    UserFactory,
    enterprise_user,
    regulator,
)

NEW = "a-new-long-password"
TEMPORARY = "temporary-password-1"


def _login(client, username, password=PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def _bearer(response) -> dict:
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture
def li(db):
    return regulator(Role.INSPECTOR, JurisdictionFactory(), username="li")


def test_a_token_alone_cannot_set_a_new_password(client, li):
    headers = _bearer(_login(client, "li"))
    etag = client.get(f"/api/v1/users/{li.id}", headers=headers).headers["ETag"]
    patched = client.patch(
        f"/api/v1/users/{li.id}", json={"password": NEW}, headers={**headers, "If-Match": etag}
    )
    assert patched.status_code == 422
    assert patched.get_json()["errors"] == [
        {"in": "json", "field": "password", "messages": ["Unknown field."]}
    ]
    wrong = client.post(
        "/api/v1/auth/password",
        json={"current_password": "guessed-wrong", "new_password": NEW},
        headers=headers,
    )
    assert wrong.status_code == 403
    body = wrong.get_json()
    assert (body["type"], body["reasons"]) == (
        "/problems/forbidden",
        [{"code": "CURRENT_PASSWORD_WRONG"}],
    )
    assert _login(client, "li").status_code == 201  # the old password still works


def test_guessing_the_current_password_is_throttled_like_logging_in(client, li):
    headers = _bearer(_login(client, "li"))
    answers = [
        client.post(
            "/api/v1/auth/password",
            json={"current_password": f"guess-{n}", "new_password": NEW},
            headers=headers,
        ).status_code
        for n in range(12)
    ]
    assert answers[:10] == [403] * 10
    assert answers[10:] == [429, 429]


def test_changing_ones_password_revokes_every_token_and_is_audited(client, li, jobs, db):
    phone, laptop = _bearer(_login(client, "li")), _bearer(_login(client, "li"))
    changed = client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW},
        headers=phone,
    )
    assert changed.status_code == 204
    for headers in (phone, laptop):
        assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert _login(client, "li").status_code == 401
    assert _login(client, "li", NEW).status_code == 201
    jobs()
    actions = [e["action"] for e in stored(db, str(li.jurisdiction_id))]
    assert "user.password_change" in actions
    assert actions.count("token.revoke") == 2


def test_a_reset_forces_a_new_password_at_the_next_login(client, li, jobs, db):
    admin = UserFactory(role=Role.ADMIN.value, username="root")
    li_before = _bearer(_login(client, "li"))
    admin_headers = _bearer(_login(client, "root"))
    reset = client.post(
        f"/api/v1/users/{li.id}/password-reset",
        json={"temporary_password": TEMPORARY},
        headers=admin_headers,
    )
    assert reset.status_code == 200 and reset.get_json()["must_change_password"] is True
    assert client.get("/api/v1/me", headers=li_before).status_code == 401  # revoked
    login = _login(client, "li", TEMPORARY)
    assert login.get_json()["password_change_required"] is True
    pending = _bearer(login)
    refused = client.get("/api/v1/enterprises", headers=pending)
    assert refused.status_code == 403
    assert refused.get_json()["type"] == "/problems/password-change-required"
    assert client.get("/api/v1/me", headers=pending).status_code == 200
    chosen = client.post(
        "/api/v1/auth/password",
        json={"current_password": TEMPORARY, "new_password": NEW},
        headers=pending,
    )
    assert chosen.status_code == 204
    after = _login(client, "li", NEW)
    assert after.get_json()["password_change_required"] is False
    assert client.get("/api/v1/enterprises", headers=_bearer(after)).status_code == 200
    assert User.objects.get(id=li.id).must_change_password is False
    jobs()
    reset_event = [
        e for e in stored(db, str(li.jurisdiction_id)) if e["action"] == "user.password_reset"
    ]
    assert [e["actor"]["user_id"] for e in reset_event] == [str(admin.id)]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("supervisor", 200),  # a supervisor manages the people of their jurisdiction
        ("other_supervisor", 404),  # another jurisdiction's user does not exist for them
        ("inspector", 404),  # inspectors see only themselves
        ("manager", 404),
    ],
)
def test_who_may_reset_an_inspectors_password(client, db, who, status):
    j, other = JurisdictionFactory(), JurisdictionFactory()
    target = regulator(Role.INSPECTOR, j, username="target")
    people = {
        "supervisor": regulator(Role.SUPERVISOR, j, username="sup"),
        "other_supervisor": regulator(Role.SUPERVISOR, other, username="sup2"),
        "inspector": regulator(Role.INSPECTOR, j, username="peer"),
        "manager": enterprise_user(
            Role.ENTERPRISE_MANAGER, EnterpriseFactory(jurisdiction_id=j.id), username="mgr"
        ),
    }
    headers = _bearer(_login(client, people[who].username))
    reset = client.post(
        f"/api/v1/users/{target.id}/password-reset",
        json={"temporary_password": TEMPORARY},
        headers=headers,
    )
    assert reset.status_code == status, reset.get_json()


def test_a_manager_resets_a_workers_password_but_nobody_resets_their_own(client, db):
    firm = EnterpriseFactory()
    manager = enterprise_user(Role.ENTERPRISE_MANAGER, firm, username="mgr")
    worker = enterprise_user(Role.WORKER, firm, username="wkr")
    headers = _bearer(_login(client, "mgr"))
    ok = client.post(
        f"/api/v1/users/{worker.id}/password-reset",
        json={"temporary_password": TEMPORARY},
        headers=headers,
    )
    assert ok.status_code == 200
    own = client.post(
        f"/api/v1/users/{manager.id}/password-reset",
        json={"temporary_password": TEMPORARY},
        headers=headers,
    )
    assert own.status_code == 403
