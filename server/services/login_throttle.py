"""Throttling of failed logins per (username, client address): at most `limit` failures in any
window (`LOGIN_RATE_LIMIT`, e.g. 10 per 15 minutes), counted in Redis, or in MongoDB while
Redis is down.

An attempt is counted *before* its password is checked, in one atomic step that also refuses
it when the window is full (`reserve`); a right password takes its count back (`Attempt.
succeeded`). So a burst of concurrent wrong passwords gets at most `limit` checks — counting
after the check let 16 concurrent attempts through where 10 were allowed — and a user who types
the password right is never slowed down. Keying on the pair keeps an attacker elsewhere from
locking a field inspector out of their account.

Both stores keep an exact moving window of attempt ids and times: a sorted set changed by one
Lua script in Redis; a document per key changed by compare-and-set on `(_id, rev)` in MongoDB
(the update the embedded server answers from an index). Why MongoDB as the fallback rather than
a count in each process: it is shared by every API process and survives their restarts, so the
bound is the configured one, not one per process; and logging in needs MongoDB anyway (users
live there), so whenever a login can succeed its failures can be counted — the throttle never
fails open. Failures counted in one store are not seen by the other, so across a switch the
bound is twice the limit per window at worst.

The same moving window counts other attempts per client under keys of their own (`count`):
public reports per address (server.services.hazards.public_reports), each kept, never taken
back.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from limits import parse
from pymongo.errors import DuplicateKeyError
from redis import Redis
from redis.exceptions import RedisError

from server.errors import TooManyRequests
from server.models.login_window import LoginWindow

log = logging.getLogger(__name__)

#: KEYS[1]: the window's sorted set; ARGV: now (ms), window (ms), limit, attempt id.
#: Returns {1, 0} when counted, {0, oldest attempt (ms)} when the window is full.
_RESERVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, 0}
"""


@dataclass
class Attempt:
    """A counted login attempt; `succeeded()` takes the count back."""

    throttle: LoginThrottle
    key: str
    id: str
    store: str

    def succeeded(self) -> None:
        self.throttle._release(self)


class LoginThrottle:
    """Counts failed logins per key in Redis, or in MongoDB while Redis is down."""

    def __init__(self, redis: Redis, limit: str):
        self._redis = redis
        self._reserve_script = redis.register_script(_RESERVE)
        item = parse(limit)
        self.limit = item.amount
        self.window = timedelta(seconds=item.get_expiry())
        #: Whether the last attempt was counted in MongoDB (to log each switch once).
        self._in_mongo = False

    def reserve(self, username: str, client_ip: str, *, now: datetime) -> Attempt:
        """Count an attempt before its password is checked; TooManyRequests (with Retry-After
        seconds) when the key already has `limit` attempts in the window."""
        return self.count(
            _key(username, client_ip),
            now=now,
            refusal="too many failed login attempts; try again later",
        )

    def count(self, key: str, *, now: datetime, refusal: str) -> Attempt:
        """Count one attempt under any key (another per-client limit, such as public reports
        per address); TooManyRequests saying `refusal` when the window is full."""
        attempt_id = uuid.uuid4().hex
        try:
            oldest = self._reserve_in_redis(key, attempt_id, now)
            store = "redis"
        except RedisError as exc:
            oldest = _reserve_in_mongo(key, attempt_id, now, self.limit, self.window)
            store = "mongodb"
            if not self._in_mongo:
                log.warning("login throttle counts in MongoDB", extra={"error": str(exc)[:200]})
        if self._in_mongo != (store == "mongodb"):
            self._in_mongo = store == "mongodb"
            if not self._in_mongo:
                log.warning("login throttle counts in Redis again")
        if oldest is not None:
            retry_after = max(1, math.ceil((oldest + self.window - now).total_seconds()))
            raise TooManyRequests(refusal, retry_after=retry_after)
        return Attempt(self, key, attempt_id, store)

    def _reserve_in_redis(self, key: str, attempt_id: str, now: datetime) -> datetime | None:
        window_ms = int(self.window.total_seconds() * 1000)
        counted, oldest_ms = self._reserve_script(
            keys=[key], args=[_ms(now), window_ms, self.limit, attempt_id]
        )
        return None if counted else datetime.fromtimestamp(int(oldest_ms) / 1000, now.tzinfo)

    def _release(self, attempt: Attempt) -> None:
        if attempt.store == "redis":
            try:
                self._redis.zrem(attempt.key, attempt.id)
                return
            except RedisError:
                return  # Redis went away: the attempt expires with its window
        LoginWindow._get_collection().update_one(
            {"_id": attempt.key}, {"$pull": {"attempts": {"id": attempt.id}}, "$inc": {"rev": 1}}
        )


def _reserve_in_mongo(
    key: str, attempt_id: str, now: datetime, limit: int, window: timedelta
) -> datetime | None:
    """The MongoDB twin of the Lua script: None when counted, else the oldest attempt's time."""
    collection = LoginWindow._get_collection()
    mine = {"id": attempt_id, "at": now}
    while True:
        doc = collection.find_one({"_id": key})
        if doc is None:
            try:
                collection.insert_one(
                    {"_id": key, "attempts": [mine], "expires_at": now + window, "rev": 0}
                )
                return None
            except DuplicateKeyError:
                continue  # another attempt created it: count against it
        live = [a for a in doc.get("attempts") or () if a["at"] > now - window]
        if len(live) >= limit:
            return min(a["at"] for a in live)
        won = collection.update_one(
            {"_id": key, "rev": doc["rev"]},
            {"$set": {"attempts": [*live, mine], "expires_at": now + window}, "$inc": {"rev": 1}},
        )
        if won.matched_count:
            return None


def purge_windows(*, now: datetime) -> int:
    """Delete MongoDB windows in which nothing counts any more (a periodic job: the embedded
    server honours no TTL index)."""
    return LoginWindow._get_collection().delete_many({"expires_at": {"$lt": now}}).deleted_count


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _key(username: str, client_ip: str) -> str:
    return f"login:{username.lower()}:{client_ip}"
