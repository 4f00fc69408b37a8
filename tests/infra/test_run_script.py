"""`make run` (scripts/run.sh) supervises what it started: a killed worker is restarted with a
message saying so, a second run refuses and leaves the first alone, and SIGTERM stops every
process this run started — and only those. Against the suite's servers (its own database and
its own Redis), so nothing embedded is started."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
from pymongo import MongoClient

from tests.processes import ROOT, RedisServer, free_port, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _pid(run_dir: Path, name: str) -> int | None:
    path = run_dir / f"{name}.pid"
    return int(path.read_text()) if path.exists() and path.read_text().strip() else None


@pytest.mark.slow
def test_run_supervises_its_processes_and_a_second_run_leaves_the_first_alone(tmp_path, settings):
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    database = f"run_{uuid.uuid4().hex[:8]}"
    run_dir, port = tmp_path / "run", free_port()
    env = {
        **os.environ,
        "MONGODB_URI": settings.mongodb_uri.rsplit("/", 1)[0] + f"/{database}",
        "REDIS_URL": redis_server.url,
        "SECRET_KEY": settings.secret_key,
        "AUDIT_SIGNING_KEY": settings.audit_signing_key,
        "PORT": str(port),
        "RUN_DIR": str(run_dir),
        "DATA_DIR": str(tmp_path / "data"),
        "SEED_DEMO": "0",
        "WEB_CONCURRENCY": "1",
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
    }
    out = tmp_path / "run.out"
    with out.open("wb") as sink:
        first = subprocess.Popen(
            ["scripts/run.sh"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(lambda: "API on http" in out.read_text(), 90, "the API", every=0.2)
        pids = {name: _pid(run_dir, name) for name in ("api", "worker", "scheduler")}
        children = {name: _pid(run_dir, f"{name}.child") for name in pids}
        assert all(_alive(p) for p in [*pids.values(), *children.values()])

        os.kill(children["worker"], signal.SIGKILL)
        wait_until(
            lambda: "worker exited with status 137; restarting it in 1s" in out.read_text(),
            10,
            "the restart message",
        )
        wait_until(
            lambda: (p := _pid(run_dir, "worker.child")) and p != children["worker"] and _alive(p),
            10,
            "a new worker",
        )

        second = subprocess.run(
            ["scripts/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode != 0
        assert "the api is already running" in second.stderr
        assert first.poll() is None and all(_alive(p) for p in pids.values())
        assert _pid(run_dir, "api") == pids["api"]

        first.send_signal(signal.SIGTERM)
        assert first.wait(60) == 130  # run.sh exits 130 on SIGINT and SIGTERM alike
        running = [*pids.values(), _pid(run_dir, "worker.child") or children["worker"]]
        wait_until(lambda: not any(_alive(p) for p in running), 15, "everything stopped")
        assert not any(_alive(p) for p in children.values())
        assert redis_server.proc.poll() is None  # not started by this run: left running
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        subprocess.run(["scripts/stop.sh"], cwd=ROOT, env=env, capture_output=True, timeout=60)
        redis_server.stop()
        with MongoClient(settings.mongodb_uri) as client:
            client.drop_database(database)
