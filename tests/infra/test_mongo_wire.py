"""The embedded MongoDB-wire launcher: handshake, clean stop, and acknowledged writes that
survive `kill -9` of the server process (a phone deletes its copy once a push is acknowledged)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from pymongo import MongoClient, ReturnDocument

TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "mongo-wire"
CLASSPATH = os.environ.get("MONGO_WIRE_CLASSPATH") or f"{TOOLS}/classes:{TOOLS}/lib/*"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, data: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        ["java", "-cp", CLASSPATH, "MongoWire", "--port", str(port), "--data", data],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    assert "ready" in line, f"launcher did not start: {line!r}"
    return proc


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    proc.send_signal(sig)
    try:
        return proc.wait(10)
    finally:
        proc.stdout.close()


def _client(port: int) -> MongoClient:
    return MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=5000)


def test_reports_wire_version_9_for_pymongo(tmp_path):
    port = _free_port()
    proc = _start(port, str(tmp_path / "wire.mv"))
    try:
        with _client(port) as client:
            assert client.admin.command("isMaster")["maxWireVersion"] >= 9
    finally:
        _stop(proc)


def test_acknowledged_writes_survive_kill_9(tmp_path):
    port, data = _free_port(), str(tmp_path / "wire.mv")
    proc = _start(port, data)
    client = _client(port)
    db = client.durability
    for i in range(300):
        db.items.insert_one({"_id": i, "v": i})
    db.items.insert_many([{"_id": 1000 + i, "v": 0} for i in range(200)])
    db.items.update_many({"_id": {"$lt": 300}}, {"$inc": {"v": 1000}})
    db.items.delete_one({"_id": 0})
    for _ in range(50):
        db.counters.find_one_and_update(
            {"_id": "n"}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.BEFORE
        )
    # The last write is acknowledged a moment before the process dies: H2's own 1 s
    # auto-commit would lose it; the launcher's commit-before-reply must not.
    db.items.insert_one({"_id": "last"})
    client.close()
    _stop(proc, signal.SIGKILL)

    proc = _start(port, data)
    try:
        with _client(port) as client:
            db = client.durability
            assert db.items.count_documents({}) == 300 - 1 + 200 + 1
            assert db.items.find_one({"_id": 0}) is None
            assert db.items.find_one({"_id": 299})["v"] == 1299
            assert db.items.find_one({"_id": "last"}) is not None
            assert db.counters.find_one({"_id": "n"})["n"] == 50
    finally:
        _stop(proc)


def test_sigterm_stops_cleanly_and_keeps_data(tmp_path):
    port, data = _free_port(), str(tmp_path / "wire.mv")
    proc = _start(port, data)
    with _client(port) as client:
        client.t.c.insert_one({"_id": 1})
    started = time.monotonic()
    assert _stop(proc) in (0, 143)
    assert time.monotonic() - started < 10
    proc = _start(port, data)
    try:
        with _client(port) as client:
            assert client.t.c.find_one({"_id": 1}) == {"_id": 1}
    finally:
        _stop(proc)
