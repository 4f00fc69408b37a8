"""The settings jobs run on: given by the worker at start, never read from the environment."""

from __future__ import annotations

import pytest

from server.jobs import context


def test_jobs_get_the_settings_the_worker_configured(job_settings):
    assert context.settings() is job_settings


def test_unconfigured_jobs_fail_saying_what_is_missing(job_settings):
    context.configure(None)
    with pytest.raises(RuntimeError, match=r"context\.configure"):
        context.settings()
