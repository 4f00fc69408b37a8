"""Cookie sessions of the server-rendered pages (the worker page now, the review site later):
`/login` and `/logout`, the logged-in actor of a page, and CSRF protection of every form.

The cookie holds, signed by Flask with SECRET_KEY, a bearer token issued by the same login use
case as `POST /api/v1/auth/token` (server.services.sessions: one password check, one login
throttle): the server-side record is the token's (server.models.token), so logging out revokes
it like the API's logout, and an expired, revoked or disabled account ends the session at once.
The cookie is HttpOnly, Secure when PUBLIC_URL is https, SameSite=Lax.

CSRF: Flask-WTF keeps a random token per session and signs it into a hidden field of each
form; `protect(bp)` checks it on every state-changing request of a page blueprint, the one
place it is checked. The API is left alone (bearer tokens are not sent by browsers on their
own, so it needs none).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from server.actor import Actor
from server.api.context import client_ip, services
from server.clock import utcnow
from server.config import Settings
from server.errors import TooManyRequests, Unauthenticated
from server.models.user import User
from server.services import auth, sessions

bp = Blueprint("web_session", __name__, template_folder="templates")
csrf = CSRFProtect()

#: The session key of the bearer token behind the cookie.
TOKEN = "token"
#: Methods that change state: each needs the form's CSRF token.
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def install(app: Flask, settings: Settings) -> None:
    """Cookie flags, Flask-WTF's CSRF (checked only where `protect` asks), the refusal page."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        SESSION_COOKIE_SAMESITE="Lax",
        # The cookie lives as long as the token inside it may.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.token_ttl_hours),
        # Checked by `protect` on the page blueprints only, never on the API.
        WTF_CSRF_CHECK_DEFAULT=False,
        # Bound to the session, which ends with its token: no second, shorter clock that
        # would refuse a worker's page left open at the manhole.
        WTF_CSRF_TIME_LIMIT=None,
    )
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.errorhandler(CSRFError)
    def _refused(error: CSRFError):
        page = render_template(
            "refused.html",
            title="请求已拒绝",
            message="页面已过期或来源不明（缺少有效的安全校验码），操作未执行。请返回页面刷新后重试。",
            detail=error.description,
            back=request.path,
        )
        return page, 403


def protect(blueprint: Blueprint) -> None:
    """Refuse a state-changing request of this blueprint without the session's CSRF token."""

    @blueprint.before_request
    def _check_csrf():
        if request.method in UNSAFE:
            csrf.protect()


protect(bp)


def current_actor() -> Actor | None:
    """The logged-in actor of this page, or None (no session, or its token no longer valid);
    a user whose password was reset gets PasswordChangeRequired."""
    if "web_actor" not in g:
        g.web_actor, g.web_token, g.web_user = None, None, None
        token = session.get(TOKEN)
        if token:
            try:
                user, record = auth.authenticate(token, now=utcnow())
            except Unauthenticated:
                session.pop(TOKEN, None)
            else:
                g.web_actor, g.web_token, g.web_user = user.actor(), record, user
    if g.web_actor is not None:
        auth.require_own_password(g.web_user)
    return g.web_actor


def current_user() -> User | None:
    return g.web_user if current_actor() is not None else None


def session_id() -> str | None:
    """The id of the session's token record: it names the page as a device in a scan nonce."""
    return str(g.web_token.id) if current_actor() is not None else None


def login_url(next_path: str) -> str:
    return url_for("web_session.login") + "?" + urlencode({"next": next_path}, safe="/")


def _safe_next(value: str | None) -> str:
    """Only a path on this site (an open redirect would carry the login elsewhere)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@bp.get("/login")
def login():
    """The login form; `next` is where it returns (the label's page)."""
    return _form(_safe_next(request.args.get("next")), "", None, 200)


@bp.post("/login")
def log_in():
    """Check username and password through the API's login use case and start a session."""
    next_path = _safe_next(request.form.get("next"))
    username = request.form.get("username", "").strip()
    svc = services()
    try:
        issued = sessions.log_in(
            username,
            request.form.get("password", ""),
            client_ip=client_ip(),
            throttle=svc.login_throttle,
            ttl=timedelta(hours=svc.settings.token_ttl_hours),
            now=utcnow(),
        )
    except Unauthenticated:
        return _form(next_path, username, "用户名或密码错误，或账号已停用。", 401)
    except TooManyRequests as error:
        message = f"登录失败次数过多，请在 {error.retry_after} 秒后再试。"
        page, status = _form(next_path, username, message, 429)
        return page, status, {"Retry-After": str(error.retry_after)}
    # A fresh session (and CSRF token) at each login: a session fixed before it is worthless.
    session.clear()
    session.permanent = True
    session[TOKEN] = issued.token
    return redirect(next_path, 303)


@bp.post("/logout")
def log_out():
    """Revoke the session's token on the server and forget the cookie."""
    actor = _actor_even_if_password_reset()
    if actor is not None:
        auth.revoke(g.web_token, actor=actor, now=utcnow())
    session.clear()
    return redirect(url_for("web_session.login"), 303)


def _actor_even_if_password_reset() -> Actor | None:
    try:
        return current_actor()
    except auth.PasswordChangeRequired:
        return g.web_actor


def _form(next_path: str, username: str, error: str | None, status: int):
    page = render_template("login.html", next=next_path, username=username, error=error)
    return page, status
