"""Real processes for the fault tests: a Redis server of their own (so killing it leaves the
suite's Redis alone), the service's worker and scheduler, and a worker with test jobs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, what: str, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class RedisServer:
    """A throw-away redis-server on a fixed port that can be killed and started again (empty:
    no persistence, like a Redis that lost its data)."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: _answers(client), 10, "redis-server to start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def _answers(client: Redis) -> bool:
    try:
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - not up yet
        return False


def service_env(settings, redis_url: str) -> dict:
    """The environment of a service process against the suite's MongoDB and `redis_url`."""
    return {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri,
        "REDIS_URL": redis_url,
        "SECRET_KEY": settings.secret_key,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "LOG_LEVEL": "INFO",
        "PYTHONPATH": str(ROOT),
    }


def start(module: str, env: dict, log: Path) -> subprocess.Popen:
    """`python -m module` in a session of its own, so a test can kill it with its children."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", module],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal a process started by `start` and everything it forked (a job's work horse)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    proc.wait(15)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            kill_group(proc)
    else:
        kill_group(proc)  # its children, if any outlived it
