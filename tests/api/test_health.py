"""`/health` checks MongoDB and Redis for real and names the one that is down: 503 only for
MongoDB; with Redis down the API still serves (200, degraded)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_health_ok_when_both_answer(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "checks": {"mongodb": {"status": "ok"}, "redis": {"status": "ok"}},
    }


def test_health_200_reports_redis_down_while_the_api_serves(app_without_redis):
    response = app_without_redis.test_client().get("/health")
    assert response.status_code == 200
    body = response.get_json()
    error = body["checks"]["redis"].pop("error")
    assert error.startswith("ConnectionError: ")
    assert body == {
        "status": "degraded",
        "checks": {"mongodb": {"status": "ok"}, "redis": {"status": "down"}},
        "down": ["redis"],
    }


def test_health_503_names_both_when_mongodb_and_redis_are_down(settings):
    script = f"""
import json
from server.app import create_app
from server.config import Settings
settings = Settings.from_env({{}}, mongodb_uri="mongodb://127.0.0.1:{_closed_port()}/safety",
    redis_url="redis://127.0.0.1:{_closed_port()}/0", secret_key={settings.secret_key!r},
    audit_signing_key={settings.audit_signing_key!r}, mongodb_timeout_ms=300,
    log_level="CRITICAL")
response = create_app(settings).test_client().get("/health")
print(json.dumps({{"status": response.status_code, "body": response.get_json()}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    assert result["body"]["down"] == ["mongodb", "redis"]
    assert result["body"]["detail"] == "mongodb and redis are down"


def test_health_503_names_mongodb_when_it_is_down(settings, redis):
    # In a child process: the mongoengine connection is process-wide and the suite keeps its own.
    script = f"""
import json
from server.app import create_app
from server.config import Settings
settings = Settings.from_env({{}}, mongodb_uri="mongodb://127.0.0.1:{_closed_port()}/safety",
    redis_url={settings.redis_url!r}, secret_key={settings.secret_key!r},
    audit_signing_key={settings.audit_signing_key!r}, mongodb_timeout_ms=300,
    log_level="CRITICAL")
response = create_app(settings).test_client().get("/health")
print(json.dumps({{"status": response.status_code, "body": response.get_json()}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    assert result["body"]["down"] == ["mongodb"]
    assert result["body"]["detail"] == "mongodb is down"
    assert result["body"]["checks"]["redis"] == {"status": "ok"}
