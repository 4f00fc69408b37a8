"""Throttling of failed logins per (username, client address), kept in Redis.

Only failures count, so a user who types the password right is never slowed down, and keying
on the pair keeps an attacker elsewhere from locking a field inspector out of their account.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from server.errors import TooManyRequests


class LoginThrottle:
    """Refuses login attempts once `limit` failures were seen for the same key."""

    def __init__(self, redis_url: str, limit: str):
        self._limiter = MovingWindowRateLimiter(storage_from_string(redis_url))
        self._limit: RateLimitItem = parse(limit)

    def check(self, username: str, client_ip: str) -> None:
        """Raise TooManyRequests (with Retry-After seconds) when the key is locked."""
        key = _key(username, client_ip)
        if not self._limiter.test(self._limit, key):
            reset_at, _remaining = self._limiter.get_window_stats(self._limit, key)
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise TooManyRequests(
                "too many failed login attempts; try again later", retry_after=retry_after
            )

    def record_failure(self, username: str, client_ip: str) -> None:
        self._limiter.hit(self._limit, _key(username, client_ip))


def _key(username: str, client_ip: str) -> str:
    return f"login:{username.lower()}:{client_ip}"
