"""Starting a session: a password login (binding the phone's device key when it sends one),
or, after a long time offline, a renewal signed with that key (server.services.device_keys).
Both end in the same bearer token (server.services.auth)."""

from __future__ import annotations

from datetime import datetime, timedelta

from server.errors import RuleViolation
from server.services import auth, device_keys
from server.services.auth import IssuedToken
from server.services.login_throttle import LoginThrottle


def log_in(
    username: str,
    password: str,
    *,
    client_ip: str,
    throttle: LoginThrottle,
    ttl: timedelta,
    now: datetime,
    device_id: str | None = None,
    device_key: str | None = None,
) -> IssuedToken:
    """Check the password and issue a token; with `device_key`, bind it to `device_id` first
    (the only way a key is bound: it needs the password)."""
    if device_key is not None and device_id is None:
        raise RuleViolation(
            "a device key is bound to a device: send device_id with it",
            errors=[{"field": "device_id", "messages": ["required with device_key"]}],
        )
    user = auth.check_credentials(
        username, password, client_ip=client_ip, throttle=throttle, now=now
    )
    if device_key is not None:
        device_keys.bind_at_login(user, device_id, device_key, now=now)
    return auth.issue(user, device_id=device_id, ttl=ttl, now=now)


def renew(
    device_id: str, challenge: str, signature: str, *, ttl: timedelta, now: datetime
) -> IssuedToken:
    """A new token for the user of a device that signed a fresh challenge with its key."""
    user = device_keys.renew(device_id, challenge, signature, now=now)
    return auth.issue(user, device_id=device_id, ttl=ttl, now=now)
