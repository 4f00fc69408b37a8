"""The settings jobs run on: those the worker started with, never read again from the
environment inside a job (a job's process may not have the worker's environment, and the
settings were validated once at start).

The worker's main calls `configure(settings)` before it works; a forked job process inherits
them. Jobs call `settings()`. Tests configure it in a fixture.
"""

from __future__ import annotations

from server.config import Settings

_settings: Settings | None = None


def configure(settings: Settings | None) -> None:
    """Give jobs of this process these settings (None forgets them)."""
    global _settings
    _settings = settings


def settings() -> Settings:
    """The settings the worker was configured with."""
    if _settings is None:
        raise RuntimeError(
            "jobs have no settings: the worker calls server.jobs.context.configure(settings) "
            "before it works (tests: the job_settings fixture)"
        )
    return _settings
