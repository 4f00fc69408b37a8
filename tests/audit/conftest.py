"""Fixtures of the audit tests: outbox entries dispatched to the real Redis and run by a burst
worker (the dispatcher is process-global: every test that needs it sets it)."""

from __future__ import annotations

import pytest

from server.jobs.outbox import RqDispatcher
from server.services import outbox
from tests.audit.helpers import run_jobs


@pytest.fixture
def dispatched(db, redis, settings):
    """`dispatched()` runs every job queued so far, as the worker would."""
    before = outbox.registry.dispatcher
    outbox.configure_dispatch(RqDispatcher(redis, settings.rq_queue))
    yield lambda: run_jobs(redis, settings)
    outbox.configure_dispatch(before)
