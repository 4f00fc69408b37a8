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


def current_actor(*, choosing_password: bool = False, reverified: bool = False) -> Actor:
    """The authenticated caller of this request (bearer token), or Unauthenticated; a user
    whose password was reset may only choose a new one (`choosing_password`) or log out.
    `reverified`: the operation verifies the token again in its own read (`caller_to_verify`),
    so a token this process let in lately is taken without a read (auth.RecentTokens)."""
    if "actor" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("send 'Authorization: Bearer <token>'; log in to get one")
        now, digest = utcnow(), auth.token_hash(token.strip())
        held = auth.recent_tokens.get(digest, now=now) if reverified else None
        if held is None:
            held = auth.authenticate(token.strip(), now=now)
            if reverified:
                auth.recent_tokens.put(digest, *held)
        else:
            g.caller_to_verify = digest
        g.user, g.token = held
        g.actor = g.user.actor(device_id=g.token.device_id)
    if not choosing_password:
        auth.require_own_password(g.user)
    return g.actor


def caller_to_verify() -> str | None:
    """The hash of the bearer token this request was let in by without a read of its own,
    which its operation must verify in its read (auth.RecentTokens.confirm); None when the
    token was read for this request."""
    return g.get("caller_to_verify")


def actor_read_again(*, choosing_password: bool = False) -> Actor:
    """The caller, read again for this request (after auth.StaleCaller)."""
    for name in ("actor", "user", "token", "caller_to_verify"):
        g.pop(name, None)
    return current_actor(choosing_password=choosing_password)


def verify_caller_before_refusal() -> None:
    """A request let in from the recent tokens and refused before its operation's read (a
    malformed or invalid body) has its token read now: a token revoked meanwhile gets 401,
    never an answer that describes what the request would have had to send."""
    if caller_to_verify() is not None:
        actor_read_again(choosing_password=True)


def current_user() -> User:
    current_actor(choosing_password=True)
    return g.user


def current_token() -> AuthToken:
    current_actor(choosing_password=True)
    return g.token
