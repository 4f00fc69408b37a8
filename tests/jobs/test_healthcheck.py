"""The worker container's healthcheck (`python -m server.jobs.healthcheck`): healthy while an RQ
worker on this host heartbeats into Redis, unhealthy once it is gone, quiet, elsewhere, or
Redis cannot be asked."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rq import Worker
from rq.cron import CronScheduler
from rq.serializers import JSONSerializer

from server.jobs import healthcheck

ROOT = Path(__file__).resolve().parents[2]
QUEUE = "healthcheck-test"
#: A plain RQ worker in its own process, on a queue nothing else uses.
WORKER = (
    "import sys; from redis import Redis; from rq import Worker; "
    "from rq.serializers import JSONSerializer; "
    f"Worker([{QUEUE!r}], connection=Redis.from_url(sys.argv[1]), "
    "serializer=JSONSerializer).work()"
)


def _env(settings, **extra) -> dict:
    return {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def _check(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "server.jobs.healthcheck"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def _wait_for_a_worker(redis, deadline: float) -> Worker:
    while not (workers := Worker.all(connection=redis)):
        assert time.monotonic() < deadline, "the worker never registered"
        time.sleep(0.1)
    return workers[0]


def test_healthy_while_a_worker_on_this_host_heartbeats_and_not_after(settings, redis):
    env = _env(settings)
    assert _check(env).returncode == 1  # no worker yet
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, settings.redis_url],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        found = _wait_for_a_worker(redis, time.monotonic() + 15)
        assert found.hostname == socket.gethostname()
        healthy = _check(env)
        assert healthy.returncode == 0, healthy.stderr
        assert found.name in healthy.stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(15)
    gone = _check(env)
    assert gone.returncode == 1
    assert "no RQ worker on" in gone.stderr


def test_a_worker_elsewhere_or_gone_quiet_does_not_count(redis):
    here = socket.gethostname()
    elsewhere = Worker([QUEUE], connection=redis, serializer=JSONSerializer, name="elsewhere")
    elsewhere.hostname = "another-container"
    elsewhere.register_birth()
    mine = Worker([QUEUE], connection=redis, serializer=JSONSerializer, name="mine")
    mine.register_birth()
    beat = Worker.find_by_key(mine.key, connection=redis).last_heartbeat
    max_age = timedelta(seconds=60)
    alive = healthcheck.worker_alive
    assert alive(redis, hostname=here, now=beat + max_age, max_age=max_age).name == "mine"
    assert alive(redis, hostname=here, now=beat + 2 * max_age, max_age=max_age) is None
    assert alive(redis, hostname="a-third-host", now=beat, max_age=max_age) is None
    mine.register_death()
    assert alive(redis, hostname=here, now=beat, max_age=max_age) is None


def test_unhealthy_when_redis_cannot_be_asked(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    result = _check(_env(settings, REDIS_URL=f"redis://127.0.0.1:{closed}/0"))
    assert result.returncode == 1
    assert "Redis" in result.stderr


def test_the_scheduler_is_healthy_while_its_heartbeat_is_fresh(redis):
    now = datetime.now(UTC)
    assert (
        healthcheck.scheduler_alive(
            redis, hostname=socket.gethostname(), now=now, max_age=timedelta(seconds=90)
        )
        is None
    )
    scheduler = CronScheduler(connection=redis, name="test-scheduler")
    scheduler.register_birth()
    scheduler.heartbeat()
    found = healthcheck.scheduler_alive(
        redis, hostname=socket.gethostname(), now=now, max_age=timedelta(seconds=90)
    )
    assert found is not None and found.name == "test-scheduler"
    later = now + timedelta(minutes=5)
    assert (
        healthcheck.scheduler_alive(
            redis, hostname=socket.gethostname(), now=later, max_age=timedelta(seconds=90)
        )
        is None
    )
