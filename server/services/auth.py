"""Log in, resolve a bearer token to its user, log out: opaque tokens, revocable server-side."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.errors import Unauthenticated
from server.models.token import AuthToken
from server.models.user import User
from server.services.login_throttle import LoginThrottle
from server.services.passwords import burn_verification_time, verify_password


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    username: str,
    password: str,
    *,
    client_ip: str,
    throttle: LoginThrottle,
    ttl: timedelta,
    now: datetime,
    device_id: str | None = None,
) -> IssuedToken:
    """Check the credentials (throttled per username and address) and issue a bearer token."""
    username = username.strip().lower()
    # Counted before the check, atomically: a burst never gets more checks than the limit.
    attempt = throttle.reserve(username, client_ip, now=now)
    user = User.objects(username=username).first()
    if user is None:
        burn_verification_time()
        ok = False
    else:
        ok = verify_password(user.password_hash, password)
    if not ok or not user.active:
        # One answer for unknown user, wrong password and disabled user: nothing to probe.
        raise Unauthenticated("username or password is wrong, or the account is disabled")
    attempt.succeeded()
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    AuthToken(
        token_hash=token_hash(token),
        user_id=user.id,
        device_id=device_id,
        created_at=now,
        expires_at=expires_at,
    ).save(force_insert=True)
    return IssuedToken(token=token, expires_at=expires_at, user=user)


def authenticate(token: str, *, now: datetime) -> tuple[User, AuthToken]:
    """The active user behind a bearer token, or Unauthenticated."""
    record = AuthToken.objects(token_hash=token_hash(token)).first()
    if record is None or record.revoked_at is not None:
        raise Unauthenticated("the token is unknown or was revoked")
    if record.expires_at <= now:
        raise Unauthenticated("the token has expired; log in again")
    user = User.objects(id=record.user_id).first()
    if user is None or not user.active:
        raise Unauthenticated("the account is disabled")
    return user, record


def revoke(record: AuthToken, *, now: datetime) -> None:
    """Log out: this token stops working at once on every API process."""
    AuthToken.objects(id=record.id, revoked_at=None).update_one(set__revoked_at=now)


def revoke_all(user_id, *, now: datetime) -> int:
    """Revoke every live token of a user (disabled account, password change)."""
    return AuthToken.objects(user_id=user_id, revoked_at=None).update(set__revoked_at=now)


def purge_tokens(*, now: datetime, keep: timedelta = timedelta(days=1)) -> int:
    """Delete tokens that expired or were revoked more than `keep` ago (a periodic job: the
    embedded server honours no TTL index). Returns how many went."""
    cutoff = now - keep
    return AuthToken.objects(
        __raw__={"$or": [{"expires_at": {"$lt": cutoff}}, {"revoked_at": {"$lt": cutoff}}]}
    ).delete()
