"""Logging in and out: tokens, throttling, revocation, and the problem bodies of failures."""

from __future__ import annotations

from datetime import timedelta

from server.actor import Role
from tests.factories import PASSWORD, JurisdictionFactory, UserFactory, regulator

PROBLEM = "application/problem+json"


def _login(client, username, password=PASSWORD, **extra):
    return client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, **extra}
    )


def test_login_returns_a_bearer_token_that_opens_the_api(client):
    user = regulator(Role.INSPECTOR, JurisdictionFactory(), username="li")
    response = _login(client, "LI ")
    assert response.status_code == 201
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["username"] == "li" and "password" not in body["user"]
    assert 0 < body["expires_in"] <= 168 * 3600
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.get_json()["id"] == str(user.id)


def test_wrong_password_unknown_user_and_disabled_user_get_the_same_401(client):
    UserFactory(username="on")
    UserFactory(username="off", active=False)
    bodies = []
    for username, password in [("on", "wrong-password"), ("nobody", PASSWORD), ("off", PASSWORD)]:
        response = _login(client, username, password)
        assert response.status_code == 401
        assert response.mimetype == PROBLEM
        body = response.get_json()
        bodies.append((body["type"], body["title"], body["detail"]))
    assert len(set(bodies)) == 1
    assert bodies[0][0] == "/problems/unauthenticated"


def test_failed_logins_are_throttled_per_username_and_address(client, settings):
    UserFactory(username="target")
    limit = int(settings.login_rate_limit.split()[0])
    for _ in range(limit):
        assert _login(client, "target", "wrong-password").status_code == 401
    locked = _login(client, "target", PASSWORD)
    assert locked.status_code == 429
    assert locked.mimetype == PROBLEM
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.get_json()["type"] == "/problems/too-many-requests"
    # Another user from the same address is not locked out by someone else's failures.
    UserFactory(username="bystander")
    assert _login(client, "bystander", PASSWORD).status_code == 201


def test_logout_revokes_the_token_at_once(client):
    UserFactory(username="u1")
    token = _login(client, "u1").get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["detail"] == "the token is unknown or was revoked"


def test_disabling_a_user_revokes_their_tokens(client, auth_headers):
    admin = UserFactory(username="boss")
    victim = UserFactory(
        username="leaver", role=Role.INSPECTOR.value, jurisdiction_id=JurisdictionFactory().id
    )
    victim_headers = auth_headers(victim)
    admin_headers = auth_headers(admin)
    etag = client.get(f"/api/v1/users/{victim.id}", headers=admin_headers).headers["ETag"]
    response = client.patch(
        f"/api/v1/users/{victim.id}",
        json={"active": False},
        headers={**admin_headers, "If-Match": etag},
    )
    assert response.status_code == 200
    assert response.get_json()["active"] is False
    assert client.get("/api/v1/me", headers=victim_headers).status_code == 401
    assert _login(client, "leaver").status_code == 401


def test_expired_token_is_refused(client, auth_headers):
    user = UserFactory()
    headers = auth_headers(user, ttl=timedelta(seconds=-1))
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["detail"] == "the token has expired; log in again"


def test_missing_or_malformed_authorization_is_401_with_challenge(client):
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}):
        response = client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.mimetype == PROBLEM


def test_login_body_is_validated_field_by_field(client):
    response = client.post("/api/v1/auth/token", json={"username": "", "extra": 1})
    assert response.status_code == 422
    body = response.get_json()
    fields = {(e["in"], e["field"]) for e in body["errors"]}
    assert fields == {("json", "username"), ("json", "password"), ("json", "extra")}
    assert body["type"] == "/problems/validation-error"


def test_token_answers_are_never_cached(client):
    regulator(Role.INSPECTOR, JurisdictionFactory(), username="cache")
    response = _login(client, "cache")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
