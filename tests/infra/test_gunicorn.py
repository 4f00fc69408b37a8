"""gunicorn as scripts/run.sh and the Docker image start it: two instances on one machine, from
the same home directory, both serve and do not fight over one control socket; the compose
healthcheck of the api service passes while one serves and fails once it stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from rq import Queue
from rq.serializers import JSONSerializer

from tests.factories import PASSWORD, UserFactory
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
CONFIG = "python:server.gunicorn_conf"
#: Where gunicorn 27 puts its control socket unless told otherwise (~/.gunicorn/gunicorn.ctl).
CONTROL_SOCKET_LINE = re.compile(r"Control socket listening at (\S+)")
CONTROL_SOCKET_ERROR = re.compile(r"control (socket|server)\b.*(error|fail)", re.IGNORECASE)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, env: dict, log: Path) -> subprocess.Popen:
    command = [
        str(GUNICORN),
        "-c",
        CONFIG,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--access-logfile",
        "-",
        "server.app:create_app()",
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _env(settings) -> dict:
    """The environment of a gunicorn on the suite's servers (no flags of the caller's)."""
    return {
        **{k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"},
        "MONGODB_URI": settings.mongodb_uri,
        "REDIS_URL": settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "LOG_LEVEL": "WARNING",
    }


def _health(port: int, deadline: float) -> int:
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                return r.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _compose_api_check(port: int, env: dict) -> subprocess.CompletedProcess:
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    kind, program, *args = compose["services"]["api"]["healthcheck"]["test"]
    assert (kind, program) == ("CMD", "python")
    return subprocess.run(
        [sys.executable, *args], env={**env, "PORT": str(port)}, capture_output=True, timeout=30
    )


@pytest.mark.slow
def test_two_instances_from_one_home_both_serve_without_a_shared_control_socket(settings, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = {**_env(settings), "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    ports = [_free_port(), _free_port()]
    logs = [tmp_path / f"gunicorn-{port}.log" for port in ports]
    procs = [_start(port, env, log) for port, log in zip(ports, logs, strict=True)]
    try:
        # Two cold starts on a loaded 2-core machine: a wait for liveness, not a timing.
        deadline = time.monotonic() + 45
        assert [_health(port, deadline) for port in ports] == [200, 200]
        # The api service's healthcheck in docker/compose.yaml, run as compose would.
        assert _compose_api_check(ports[0], env).returncode == 0
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(10)
    assert _compose_api_check(ports[0], env).returncode != 0
    texts = [log.read_text(errors="replace") for log in logs]
    assert [t for t in texts if CONTROL_SOCKET_ERROR.search(t)] == []
    sockets = [m for t in texts for m in CONTROL_SOCKET_LINE.findall(t)]
    assert len(sockets) == len(set(sockets)), f"one control socket for both: {sockets}"
    assert not (home / ".gunicorn").exists()


def test_every_start_of_gunicorn_uses_the_config():
    for path in ("scripts/run.sh", "docker/Dockerfile", "docker/compose.yaml"):
        text = (ROOT / path).read_text()
        starts = re.findall(r"gunicorn\b[^\n]*", text)
        commands = [s for s in starts if "--bind" in s]
        assert commands, f"{path} starts no gunicorn"
        assert all(f"-c {CONFIG}" in c for c in commands), (path, commands)


@pytest.mark.slow
def test_a_gunicorn_worker_relays_its_outbox_entries_to_redis(settings, db, redis, tmp_path):
    """The relay's thread lives in each forked worker (server/services/relay.py): a login's
    audit entry reaches the queue at once, without a worker or the sweep running."""
    user = UserFactory()
    port = _free_port()
    proc = _start(port, _env(settings), tmp_path / "gunicorn.log")
    try:
        assert _health(port, time.monotonic() + 45) == 200
        login = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/auth/token",
            data=json.dumps({"username": user.username, "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=10) as answer:
            assert answer.status == 201
        [entry] = db["outbox"].find({"job": "audit.append"}, {"_id": 1})
        queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
        wait_until(lambda: entry["_id"] in queue.job_ids, 10, "the entry on the queue")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
