"""Per-app services the views need (settings, Redis, the throttles) and the calling actor.

The only place that reads the request's credentials: views call `current_actor()` and pass the
actor down to the use cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g, request
from redis import Redis

from server.actor import Actor
from server.clock import utcnow
from server.config import Settings
from server.errors import Unauthenticated
from server.models.token import AuthToken
from server.models.user import User
from server.services import auth
from server.services.login_throttle import LoginThrottle


@dataclass
class Services:
    settings: Settings
    redis: Redis
    login_throttle: LoginThrottle
    #: Public reports per client address (the login throttle's window, its own limit).
    report_throttle: LoginThrottle


def services() -> Services:
    return current_app.extensions["safety"]


def settings() -> Settings:
    return services().settings


def client_ip() -> str:
    """The peer address; behind a proxy, configure ProxyFix rather than trusting headers here."""
    return request.remote_addr or "unknown"


def current_actor(*, choosing_password: bool = False) -> Actor:
    """The authenticated caller of this request (bearer token), or Unauthenticated; a user
    whose password was reset may only choose a new one (`choosing_password`) or log out."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send 'Authorization: Bearer <token>'; log in to get one")
        user, record = auth.authenticate(token.strip(), now=utcnow())
        g.user, g.token = user, record
        g.actor = user.actor(device_id=record.device_id)
    if not choosing_password:
        auth.require_own_password(g.user)
    return g.actor


def current_user() -> User:
    current_actor(choosing_password=True)
    return g.user


def current_token() -> AuthToken:
    current_actor(choosing_password=True)
    return g.token
