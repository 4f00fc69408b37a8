"""Bearer tokens: credentials checked, tokens issued, resolved to their user and revoked
(opaque, revocable server-side). The login use cases themselves are server.services.sessions.

Issuing and revoking a token are audited (`token.issue`, `token.revoke`) in the chain of the
token's user; each token is issued and revoked once, so those events carry keys of their own.
Failed logins are counted by the throttle (server.services.login_throttle) and are not audit
events.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cachetools import TTLCache

from server.actor import Actor
from server.errors import Forbidden, Unauthenticated
from server.models import keyed_reads
from server.models.token import AuthToken
from server.models.user import User
from server.services.audit import record
from server.services.audit.event import event
from server.services.login_throttle import LoginThrottle
from server.services.passwords import burn_verification_time, verify_password


class PasswordChangeRequired(Forbidden):
    """The password was reset by someone else: its user must choose their own first."""

    title = "Password change required"
    type_slug = "password-change-required"


def require_own_password(user: User) -> None:
    """Refuse everything but choosing a password (and logging out) until the user has."""
    if user.must_change_password:
        raise PasswordChangeRequired(
            "your password was reset: choose a new one (POST /api/v1/auth/password) first"
        )


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_credentials(
    username: str, password: str, *, client_ip: str, throttle: LoginThrottle, now: datetime
) -> User:
    """The active user these credentials prove (throttled per username and address)."""
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
    return user


def issue(user: User, *, device_id: str | None, ttl: timedelta, now: datetime) -> IssuedToken:
    """A new bearer token for a user whose identity was proven (password or device key)."""
    token = secrets.token_urlsafe(32)
    expires_at = now + ttl
    issued = AuthToken(
        token_hash=token_hash(token),
        user_id=user.id,
        device_id=device_id,
        created_at=now,
        expires_at=expires_at,
    ).save(force_insert=True)
    record.record(
        user.actor(device_id=device_id),
        "token.issue",
        "token",
        issued.id,
        before=None,
        after=issued,
        now=now,
        chain=user.jurisdiction_id,
        key=f"token.issue:{issued.id}",
    )
    return IssuedToken(token=token, expires_at=expires_at, user=user)


def authenticate(token: str, *, now: datetime) -> tuple[User, AuthToken]:
    """The active user behind a bearer token, or Unauthenticated. Every request asks this: the
    token and its user are read by one command (server.models.keyed_reads) and made into
    documents without a QuerySet each."""
    found = keyed_reads.read({"token_hash": token_hash(token)}, token_reads("token_hash"))
    return checked(found, now=now)


def token_reads(local: str) -> list[dict]:
    """The stages of a keyed read that read the token whose hash is at `local`, and its user,
    into `token` and `user` (also read by an operation that verifies its caller again in its
    own read: `RecentTokens`)."""
    return [
        keyed_reads.by_key("token", AuthToken._get_collection_name(), local, "token_hash"),
        keyed_reads.first("token_user_id", "token.user_id"),
        keyed_reads.by_key("user", User._get_collection_name(), "token_user_id"),
    ]


def checked(found: dict, *, now: datetime) -> tuple[User, AuthToken]:
    """The user and token of a read made with `token_reads`, if they let the caller in; else
    Unauthenticated."""
    raw, user = _let_in(found, now)
    return User._from_son(user), AuthToken._from_son(raw)


def _let_in(found: dict, now: datetime) -> tuple[dict, dict]:
    """The raw token and user of a read made with `token_reads`, if they let the caller in."""
    raw = next(iter(found["token"]), None)
    if raw is None or raw.get("revoked_at") is not None:
        raise Unauthenticated("the token is unknown or was revoked")
    if raw["expires_at"] <= now:
        raise Unauthenticated("the token has expired; log in again")
    user = next(iter(found["user"]), None)
    if user is None or not user.get("active", True):
        raise Unauthenticated("the account is disabled")
    return raw, user


class StaleCaller(Exception):
    """The caller a request was resolved to from `RecentTokens` changed since (role,
    enterprise, jurisdiction or password state): resolve it again and start over."""


class RecentTokens:
    """The bearer tokens this process let in lately, by hash, with their user and record.

    Only for operations that verify their caller again in the one command of their own read
    (the scan: `token_reads` joined to it, then `confirm`): such a request is resolved from
    here instead of by a read of its own, and is refused or started over by that read if the
    token was revoked or expired, or its user disabled or changed, meanwhile. So a revocation
    takes effect at once for them too; what the cache saves is one command per request.
    Entries are kept `TTL` and at most `SIZE` of them (the oldest go first)."""

    TTL = timedelta(minutes=5)
    SIZE = 10_000

    def __init__(self) -> None:
        self._held: TTLCache[str, tuple[User, AuthToken]] = TTLCache(
            maxsize=self.SIZE, ttl=self.TTL.total_seconds()
        )
        self._lock = threading.Lock()

    def get(self, digest: str, *, now: datetime) -> tuple[User, AuthToken] | None:
        with self._lock:
            held = self._held.get(digest)
        if held is None or held[1].expires_at <= now:
            return None
        return held

    def put(self, digest: str, user: User, record: AuthToken) -> None:
        with self._lock:
            self._held[digest] = (user, record)

    def drop(self, digest: str) -> None:
        with self._lock:
            self._held.pop(digest, None)

    def confirm(self, digest: str, found: dict, actor: Actor, *, now: datetime) -> None:
        """After the operation's own read (`found`, with `token_reads`): Unauthenticated if
        the caller may no longer come in, StaleCaller if they may but as someone else."""
        try:
            raw, user = _let_in(found, now)
        except Unauthenticated:
            self.drop(digest)
            raise
        same = (
            user["role"],
            user.get("jurisdiction_id"),
            user.get("enterprise_id"),
            raw.get("device_id"),
        ) == (actor.role.value, actor.jurisdiction_id, actor.enterprise_id, actor.device_id)
        if not same or user.get("must_change_password"):
            self.drop(digest)
            raise StaleCaller(digest)


#: This process's recent tokens (server.api.context).
recent_tokens = RecentTokens()


def revoke(token: AuthToken, *, actor: Actor, now: datetime) -> None:
    """Log out: this token stops working at once on every API process."""
    if AuthToken.objects(id=token.id, revoked_at=None).update_one(set__revoked_at=now):
        revoked = [AuthToken.objects.get(id=token.id)]
        _audit_revoked(revoked, actor=actor, now=now, jurisdiction_id=actor.jurisdiction_id)


def revoke_all(user: User, *, actor: Actor, now: datetime) -> int:
    """Revoke every live token of a user (disabled account, password change)."""
    n = AuthToken.objects(user_id=user.id, revoked_at=None).update(set__revoked_at=now)
    if n:
        revoked = list(AuthToken.objects(user_id=user.id, revoked_at=now).batch_size(500))
        _audit_revoked(revoked, actor=actor, now=now, jurisdiction_id=user.jurisdiction_id)
    return n


def revoke_device_tokens(device, *, actor: Actor, now: datetime) -> int:
    """Revoke every live token issued to a device (the device was revoked)."""
    live = AuthToken.objects(user_id=device.user_id, device_id=device.device_id, revoked_at=None)
    n = live.update(set__revoked_at=now)
    if n:
        revoked = list(
            AuthToken.objects(
                user_id=device.user_id, device_id=device.device_id, revoked_at=now
            ).batch_size(500)
        )
        _audit_revoked(revoked, actor=actor, now=now, jurisdiction_id=device.jurisdiction_id)
    return n


def _audit_revoked(tokens: list[AuthToken], *, actor: Actor, now: datetime, jurisdiction_id):
    """One `token.revoke` per token. A revocation only sets `revoked_at`, so the state before
    is the state after without it."""
    events = []
    for token in tokens:
        after = token.to_mongo().to_dict()
        before = {k: v for k, v in after.items() if k != "revoked_at"}
        events.append(
            event(
                actor,
                "token.revoke",
                "token",
                token.id,
                before=before,
                after=after,
                now=now,
                chain=jurisdiction_id,
                key=f"token.revoke:{token.id}",
            )
        )
    record.record_events(events, now=now)


def purge_tokens(*, now: datetime, keep: timedelta = timedelta(days=1)) -> int:
    """Delete tokens that expired or were revoked more than `keep` ago (a periodic job: the
    embedded server honours no TTL index). Returns how many went."""
    cutoff = now - keep
    return AuthToken.objects(
        __raw__={"$or": [{"expires_at": {"$lt": cutoff}}, {"revoked_at": {"$lt": cutoff}}]}
    ).delete()
