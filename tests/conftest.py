"""Fixtures for the whole suite: real MongoDB-wire and Redis servers (started by `make test`),
a clean database and Redis db for every test, the app, and helpers to act as a user."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from datetime import timedelta

import pytest
from mongoengine.connection import get_db
from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.clock import utcnow
from server.config import Settings
from server.db import connect_mongo, ensure_indexes, redis_client
from server.jobs import context as job_context
from server.models import DOCUMENTS
from server.models.token import AuthToken
from server.services import outbox
from server.services.auth import token_hash
from server.wiring import register_evidence_links, register_jobs, register_push_handlers, wire
from tests.environment import for_worker, test_settings


def pytest_configure(config):
    # Under pytest-xdist (`make test` runs `-n 2`) each worker gets its own database and Redis
    # db; a run without workers uses the servers' URLs as they are.
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get("TEST_MONGODB_URI") and os.environ.get("TEST_REDIS_URL"):
        os.environ.update(for_worker(os.environ, worker))


@pytest.fixture(scope="session")
def settings() -> Settings:
    found = test_settings()
    if found is None:
        pytest.exit("TEST_MONGODB_URI / TEST_REDIS_URL are not set: run the suite with `make test`")
    return found


@pytest.fixture(scope="session")
def db(settings):
    connect_mongo(settings)
    ensure_indexes(DOCUMENTS)
    # What the app and the worker register; RQ dispatch is configured by the app fixture.
    register_evidence_links()
    register_push_handlers()
    register_jobs()
    return get_db()


@pytest.fixture(scope="session")
def redis(settings):
    return redis_client(settings)


@pytest.fixture(autouse=True)
def clean(request):
    """Tests that touch the servers start from an empty database and Redis db (indexes kept).

    Pure tests (no `db`, `redis`, `app` or `client` fixture) need no servers at all.
    """
    used = set(request.fixturenames)
    if used & {"db", "app", "client"}:
        database = request.getfixturevalue("db")
        for name in database.list_collection_names():
            database[name].delete_many({})
    if used & {"redis", "app", "client"}:
        request.getfixturevalue("redis").flushdb()


@pytest.fixture(scope="session")
def app(settings, db):
    from server.app import create_app

    app = create_app(settings)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def job_settings(settings):
    """Jobs run by burst workers in this process get the suite's settings, as the worker's
    main gives its jobs the settings it started with."""
    job_context.configure(settings)
    yield settings
    job_context.configure(None)


@pytest.fixture
def client(app):
    # The suite's wiring again: a test may have built another app, which rewired the process.
    wire(app.extensions["safety"].settings, app.extensions["safety"].redis, relay=True)
    return app.test_client()


@pytest.fixture
def app_without_redis(settings, db, redis):
    """The app as it runs while Redis is down (nothing listens on its port)."""
    from server.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    yield create_app(replace(settings, redis_url=f"redis://127.0.0.1:{closed}/0"))
    wire(settings, redis, relay=True)  # building it rewired this process


@pytest.fixture
def jobs(settings, redis, db):
    """`jobs()` runs what is queued on the suite's Redis with a burst worker (jobs delayed by
    RQ, like `Retry` back-offs, stay queued), with this process wired as the API is: what
    the relay was handed, by requests and by the jobs themselves, is queued first."""
    wire(settings, redis, relay=True)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)

    def work() -> bool:
        worked = False
        for _ in range(50):  # jobs that queue jobs: until a round finds nothing
            assert outbox.registry.flush(), "the outbox relay did not pass its entries on"
            if not SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(
                burst=True
            ):
                break
            worked = True
        return worked

    return work


@pytest.fixture
def auth_headers():
    """`auth_headers(user)` → headers with a fresh bearer token for that user."""

    def make(user, *, device_id=None, ttl=timedelta(hours=1)):
        token = f"test-token-{user.id}-{os.urandom(8).hex()}"
        now = utcnow()
        AuthToken(
            token_hash=token_hash(token),
            user_id=user.id,
            device_id=device_id,
            created_at=now,
            expires_at=now + ttl,
        ).save(force_insert=True)
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def published(db):
    """Every shipped edition of the checklist templates, published in order (version 1: the
    first edition, version 2: the current files); returns the newest of each."""
    from checklists.loader import load_editions
    from checklists.versions import publish_editions

    return publish_editions(load_editions(), now=utcnow())
