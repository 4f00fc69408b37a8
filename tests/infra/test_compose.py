"""docker/compose.yaml, checked where no Docker engine runs: it parses, every service restarts
and has a healthcheck, and the worker's is the module tested in tests/jobs/test_healthcheck.py
(the api's runs against real gunicorn in tests/infra/test_gunicorn.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker" / "compose.yaml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_every_service_restarts_and_reports_its_health():
    services = _services()
    assert set(services) == {"mongo", "redis", "api", "worker", "scheduler"}
    for name, service in services.items():
        assert service["restart"] == "unless-stopped", name
        check = service["healthcheck"]
        assert check["test"][0] == "CMD", name
        assert {"interval", "timeout", "retries"} <= set(check), name


def test_the_worker_checks_its_own_heartbeat_and_the_api_its_health_endpoint():
    services = _services()
    assert services["worker"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "-m",
        "server.jobs.healthcheck",
    ]
    assert "/health" in services["api"]["healthcheck"]["test"][-1]
    # Both wait for the databases to be healthy first (the shared x-app block).
    for name in ("api", "worker"):
        assert services[name]["depends_on"] == {
            "mongo": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
