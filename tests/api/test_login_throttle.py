"""The failed-login throttle under concurrency and with Redis down: an attempt is counted before
its password is checked, atomically, so a burst never gets more checks than the limit; with
Redis down the count moves to MongoDB and stays bounded, and logging in keeps working."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.jobs.auth import purge_login_windows
from tests.factories import PASSWORD, UserFactory

#: A verification that takes a few milliseconds, like the production profile's (which takes far
#: longer), so that concurrent attempts really overlap while passwords are checked.
SLOW_HASH = PasswordHasher(time_cost=3, memory_cost=16 * 1024, parallelism=1)


def _login(app, username, password):
    return app.test_client().post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    )


def _burst(app, username: str, attempts: int, concurrency: int) -> list[int]:
    start = threading.Barrier(concurrency)

    def attempt(n):
        if n < concurrency:
            start.wait()
        return _login(app, username, f"wrong-password-{n}").status_code

    with ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(attempt, range(attempts)))


def _limit(settings) -> int:
    return int(settings.login_rate_limit.split()[0])


@pytest.mark.parametrize("store", ["redis", "mongodb"])
def test_forty_wrong_passwords_sixteen_at_a_time_get_at_most_the_limit_of_checks(
    app, app_without_redis, settings, store, redis
):
    UserFactory(username="target", password_hash=SLOW_HASH.hash(PASSWORD))
    statuses = _burst(app if store == "redis" else app_without_redis, "target", 40, 16)
    # A 401 is an attempt whose password was checked; a 429 was refused before any check.
    assert statuses.count(401) == _limit(settings)
    assert statuses.count(429) == 40 - _limit(settings)


def test_a_right_password_is_never_counted_as_a_failure(app, settings):
    UserFactory(username="regular")
    for _ in range(_limit(settings) + 5):
        assert _login(app, "regular", PASSWORD).status_code == 201


def test_login_works_with_redis_down_and_its_throttle_stays_bounded(app_without_redis, settings):
    UserFactory(username="field")
    assert _login(app_without_redis, "field", PASSWORD).status_code == 201
    for _ in range(_limit(settings)):
        assert _login(app_without_redis, "field", "wrong-password").status_code == 401
    locked = _login(app_without_redis, "field", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) >= 1
    assert locked.get_json()["type"] == "/problems/too-many-requests"
    # Another user from the same address is not locked out by someone else's failures.
    UserFactory(username="bystander")
    assert _login(app_without_redis, "bystander", PASSWORD).status_code == 201


def test_expired_mongodb_windows_are_purged_by_a_job(db, redis, settings):
    now = utcnow()
    db["login_windows"].insert_many(
        [
            {
                "_id": "login:old:1.2.3.4",
                "attempts": [],
                "expires_at": now - timedelta(minutes=1),
                "rev": 0,
            },
            {
                "_id": "login:live:1.2.3.4",
                "attempts": [],
                "expires_at": now + timedelta(minutes=9),
                "rev": 0,
            },
        ]
    )
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    job = queue.enqueue(purge_login_windows)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)
    assert job.return_value() == 1
    assert [w["_id"] for w in db["login_windows"].find()] == ["login:live:1.2.3.4"]
