"""The pages' cookie session: login through the API's login use case and throttle, a session
cookie bound to a revocable token, logout, and CSRF refusal of forms without their token."""

from __future__ import annotations

import dataclasses

from flask import Flask

from server.actor import Role
from server.models.token import AuthToken
from server.web import session
from tests.factories import PASSWORD, EnterpriseFactory, JurisdictionFactory, enterprise_user
from tests.web.pages import hidden, log_in


def _worker():
    firm = EnterpriseFactory(jurisdiction_id=JurisdictionFactory().id)
    return enterprise_user(Role.WORKER, firm)


def test_login_sets_a_safe_cookie_bound_to_a_token_and_returns_to_next(client):
    user = _worker()
    response = log_in(client, user, "/s/abc")
    assert response.status_code == 303
    assert response.headers["Location"] == "/s/abc"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # PUBLIC_URL of the tests is http
    live = AuthToken.objects(user_id=user.id, revoked_at=None)
    assert live.count() == 1 and live.first().device_id is None


def test_logout_revokes_the_token_and_the_page_asks_to_log_in_again(client):
    user = _worker()
    log_in(client, user)
    page = client.get("/login").get_data(as_text=True)  # the session's token, on any form
    out = client.post("/logout", data={"csrf_token": hidden(page, "csrf_token")})
    assert (out.status_code, out.headers["Location"]) == (303, "/login")
    assert AuthToken.objects(user_id=user.id, revoked_at=None).count() == 0
    again = client.get("/s/whatever")
    assert again.status_code == 302 and again.headers["Location"].startswith("/login?next=")


def test_a_wrong_password_is_refused_and_counted_by_the_api_throttle(client, settings):
    user = _worker()
    page = client.get("/login").get_data(as_text=True)
    form = {"csrf_token": hidden(page, "csrf_token"), "username": user.username}
    limit = int(settings.login_rate_limit.split()[0])
    for _ in range(limit):
        wrong = client.post("/login", data={**form, "password": "not-it-at-all"})
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.get_data(as_text=True)
    # The API's login shares the same count: it is refused too.
    api = client.post(
        "/api/v1/auth/token", json={"username": user.username, "password": "not-it-at-all"}
    )
    assert api.status_code == 429
    blocked = client.post("/login", data={**form, "password": "not-it-at-all"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "登录失败次数过多" in blocked.get_data(as_text=True)


def test_a_form_without_or_with_a_wrong_csrf_token_is_refused_with_403(client):
    user = _worker()
    client.get("/login")
    no_token = client.post("/login", data={"username": user.username, "password": "x"})
    assert no_token.status_code == 403
    text = no_token.get_data(as_text=True)
    assert "请求已拒绝" in text and "安全校验码" in text
    wrong = client.post("/login", data={"csrf_token": "forged", "username": user.username})
    assert wrong.status_code == 403
    log_in(client, user)
    assert client.post("/logout").status_code == 403
    assert AuthToken.objects(user_id=user.id, revoked_at=None).count() == 1  # still logged in


def test_a_token_of_another_session_is_refused(client, app):
    user = _worker()
    other = app.test_client()
    foreign = hidden(other.get("/login").get_data(as_text=True), "csrf_token")
    log_in(client, user)
    assert client.post("/logout", data={"csrf_token": foreign}).status_code == 403


def test_next_never_leaves_the_site(client):
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = log_in(client, _worker(), target)
        assert response.headers["Location"] == "/", target


def test_the_api_takes_no_csrf_token(client):
    user = _worker()
    api = client.post("/api/v1/auth/token", json={"username": user.username, "password": PASSWORD})
    assert api.status_code == 201


def test_the_cookie_is_secure_when_the_site_is_served_over_https(settings):
    app = Flask("https-site")
    session.install(app, dataclasses.replace(settings, public_url="https://aq.example.cn"))
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
