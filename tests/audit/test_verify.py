"""The stand-alone verifier on real exports: an untouched export passes (also with its server
stopped); each kind of tampering is detected in its own test. The verifier runs as a separate
process that must not load pymongo, mongoengine, bson or Flask."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pymongo import MongoClient

from media import links
from media.blobstore import BlobStore
from server.actor import Role
from server.clock import utcnow
from server.jobs.outbox import RqDispatcher
from server.services import outbox
from server.services.audit import canonical, chain, event, export, heads, signing
from tests.audit.helpers import run_jobs, stored
from tests.factories import PASSWORD, JurisdictionFactory, regulator
from tests.media import helpers as media

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "mongo-wire"
CLASSPATH = os.environ.get("MONGO_WIRE_CLASSPATH") or f"{TOOLS}/classes:{TOOLS}/lib/*"
PHONE = "phone-verify-0001"
#: Runs the verifier as `python -m` would, then says which database or web modules it loaded.
WRAPPER = """
import runpy, sys
sys.argv[0] = "verify"
try:
    runpy.run_module("server.services.audit.verify", run_name="__main__", alter_sys=True)
finally:
    heavy = ("pymongo", "mongoengine", "bson", "flask")
    print("LOADED", ",".join(m for m in heavy if m in sys.modules) or "-")
"""


def run_verifier(directory: Path, public_key: Path, *extra: str) -> subprocess.CompletedProcess:
    # No database settings at all: the verifier must not need them.
    env = {k: v for k, v in os.environ.items() if "MONGO" not in k and "REDIS" not in k}
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(directory), "--public-key", str(public_key), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=directory.parent,
    )
    assert result.stdout.strip().splitlines()[-1] == "LOADED -", result.stdout + result.stderr
    return result


def problems(result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("PROBLEM ")]


@pytest.fixture(scope="module")
def built(app, db, redis, settings, tmp_path_factory):
    """A jurisdiction's chain made through the API and the outbox jobs, once for the module:
    log in, register a phone, a photo arrives (signed head at 3), log out and in again (signed
    head at 5), log out (an unsigned tail: 6 events). Exported with `audit-export --photos`,
    and events 4..5 alone; the public key fetched from its stable URL."""
    for name in db.list_collection_names():  # module fixtures run before `clean`
        db[name].delete_many({})
    redis.flushdb()
    before = outbox.registry.dispatcher
    outbox.configure_dispatch(RqDispatcher(redis, settings.rq_queue))
    client, cli = app.test_client(), app.test_cli_runner()
    j = JurisdictionFactory()
    regulator(Role.INSPECTOR, j, username="wang")
    links.register_link_kind("finding", lambda actor, link_id: actor.jurisdiction_id == j.id)

    def flask(*args: str) -> None:
        with app.app_context():  # as the `flask` command runs commands
            result = cli.invoke(args=list(args))
        assert result.exit_code == 0, result.output

    def login() -> dict:
        body = {"username": "wang", "password": PASSWORD, "device_id": PHONE}
        response = client.post("/api/v1/auth/token", json=body)
        run_jobs(redis, settings)
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    def logout(headers) -> None:
        assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
        run_jobs(redis, settings)

    try:
        headers = login()
        device = {"device_id": PHONE, "platform": "android"}
        assert client.post("/api/v1/devices", json=device, headers=headers).status_code == 201
        run_jobs(redis, settings)
        photo = media.jpeg()
        assert media.upload(client, headers, photo).status_code == 204
        run_jobs(redis, settings)
        flask("audit-sign")
        logout(headers)
        headers = login()
        flask("audit-sign")
        logout(headers)
    finally:
        links.unregister_link_kind("finding")
        outbox.configure_dispatch(before)
    assert [e["action"] for e in stored(db, str(j.id))] == [
        "token.issue",
        "device.register",
        "photo.arrive",
        "token.revoke",
        "token.issue",
        "token.revoke",
    ]
    base = tmp_path_factory.mktemp("audit")
    flask("audit-export", "--chain", str(j.id), "--photos", "--out", str(base / "export"))
    flask(
        "audit-export",
        "--chain",
        str(j.id),
        "--from",
        "4",
        "--to",
        "5",
        "--out",
        str(base / "range"),
    )
    key = base / "audit-public-key.pem"
    key.write_text(client.get("/api/v1/audit/public-key").get_json()["pem"])
    return {"base": base, "key": key, "photo": media.sha256(photo), "chain": str(j.id)}


@pytest.fixture
def chain_export(built, tmp_path):
    """A fresh copy of the export for one test to tamper with."""
    out = tmp_path / "export"
    shutil.copytree(built["base"] / "export", out)
    return {**built, "dir": out}


def read_events(directory: Path) -> list[dict]:
    return [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]


def write_events(directory: Path, events: list[dict]) -> None:
    lines = [canonical.event_line(e) for e in events]
    (directory / "events.jsonl").write_text("".join(line + "\n" for line in lines))


def rechain(events: list[dict], start: int) -> list[dict]:
    """What a forger who knows the format does: renumber and re-link from `start` on, with
    fresh hashes, so that every event and link checks out again (only signatures remain)."""
    for i in range(start, len(events)):
        e = events[i]
        e["n"] = events[i - 1]["n"] + 1 if i else 1
        e["prev"] = events[i - 1]["hash"] if i else None
        e["hash"] = canonical.event_hash(e)
    return events


def test_an_untouched_export_passes(chain_export):
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert problems(result) == []
    assert "note: events 6..6 follow the last signed head (n=5): " in result.stdout
    assert lines[-2] == (
        f"INTACT chain {chain_export['chain']}: 6 events (1..6), 2 signed heads checked, "
        "1 photos checked"
    )


@pytest.mark.parametrize("rehashed", [False, True], ids=["as-is", "rehashed"])
def test_a_modified_event_is_detected(chain_export, rehashed):
    events = read_events(chain_export["dir"])
    events[1]["actor"]["user_id"] = "000000000000000000000000"  # register the phone to another
    if rehashed:
        events[1]["hash"] = canonical.event_hash(events[1])
    write_events(chain_export["dir"], events)
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 1
    expected = (
        ["event n=3 (events.jsonl line 3): does not link to event 2 (prev differs)"]
        if rehashed
        else ["event n=2 (events.jsonl line 2): content does not match its hash (modified)"]
    )
    assert problems(result) == [f"PROBLEM {p}" for p in expected]


@pytest.mark.parametrize("rechained", [False, True], ids=["as-is", "rechained"])
def test_a_deleted_event_is_detected(chain_export, rechained):
    events = read_events(chain_export["dir"])
    del events[2]  # the photo's arrival
    write_events(chain_export["dir"], rechain(events, 2) if rechained else events)
    _fix_manifest(chain_export["dir"], to=5 if rechained else 6)
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 1
    if rechained:
        assert problems(result) == [
            "PROBLEM signature of n=3 (signatures.jsonl line 1): "
            "event n=3 is not the event that was signed",
            "PROBLEM signature of n=5 (signatures.jsonl line 2): "
            "event n=5 is not the event that was signed",
        ]
    else:
        assert problems(result) == [
            "PROBLEM event n=4 (events.jsonl line 3): expected n=3 "
            "(an event missing, inserted or out of order)",
            "PROBLEM signature of n=3 (signatures.jsonl line 1): "
            "event n=3 is not in the export (removed, or the tail was cut off)",
        ]


@pytest.mark.parametrize("rechained", [False, True], ids=["as-is", "rechained"])
def test_an_inserted_event_is_detected(chain_export, rechained):
    events = read_events(chain_export["dir"])
    forged = dict(events[1], action="user.update", n=3, prev=events[1]["hash"], key="forged")
    forged["hash"] = canonical.event_hash(forged)
    events.insert(2, forged)
    write_events(chain_export["dir"], rechain(events, 3) if rechained else events)
    _fix_manifest(chain_export["dir"], to=7 if rechained else 6)
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 1
    if rechained:
        assert problems(result) == [
            "PROBLEM signature of n=3 (signatures.jsonl line 1): "
            "event n=3 is not the event that was signed",
            "PROBLEM signature of n=5 (signatures.jsonl line 2): "
            "event n=5 is not the event that was signed",
        ]
    else:
        assert problems(result)[:2] == [
            "PROBLEM event n=3 (events.jsonl line 4): expected n=4 "
            "(an event missing, inserted or out of order)",
            "PROBLEM event n=3 (events.jsonl line 4): a second event with this number",
        ]


@pytest.mark.parametrize("rechained", [False, True], ids=["as-is", "rechained"])
def test_two_swapped_events_are_detected(chain_export, rechained):
    events = read_events(chain_export["dir"])
    events[3], events[4] = events[4], events[3]  # the logout now after the next login
    write_events(chain_export["dir"], rechain(events, 3) if rechained else events)
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 1
    if rechained:
        assert problems(result) == [
            "PROBLEM signature of n=5 (signatures.jsonl line 2): "
            "event n=5 is not the event that was signed"
        ]
    else:
        assert problems(result)[0] == (
            "PROBLEM event n=5 (events.jsonl line 4): expected n=4 "
            "(an event missing, inserted or out of order)"
        )


def test_a_tail_truncated_after_a_signed_head_is_detected(chain_export):
    events = read_events(chain_export["dir"])
    write_events(chain_export["dir"], events[:3])  # everything after the first signed head
    _fix_manifest(chain_export["dir"], to=3)
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 1
    assert problems(result) == [
        "PROBLEM signature of n=5 (signatures.jsonl line 2): "
        "event n=5 is not in the export (removed, or the tail was cut off)"
    ]


def test_a_tail_cut_with_its_signatures_is_caught_by_a_checkpoint(chain_export, tmp_path):
    directory = chain_export["dir"]
    checkpoint = tmp_path / "earlier-signatures.jsonl"
    shutil.copy(directory / "signatures.jsonl", checkpoint)  # an auditor kept an earlier copy
    write_events(directory, read_events(directory)[:3])
    signatures = (directory / "signatures.jsonl").read_text().splitlines()
    (directory / "signatures.jsonl").write_text(signatures[0] + "\n")
    _fix_manifest(directory, to=3, head=3)
    # The export alone is consistent: someone with write access can cut an unsigned tail,
    # and can "unsign" one by deleting its signatures too (README, "What the log proves").
    assert run_verifier(directory, chain_export["key"]).returncode == 0
    result = run_verifier(directory, chain_export["key"], "--checkpoint", str(checkpoint))
    assert result.returncode == 1
    assert problems(result) == [
        "PROBLEM checkpoint of n=5: event n=5 is not in the export (removed, or the tail was "
        "cut off)"
    ]


def test_a_photo_whose_bytes_were_replaced_is_detected(chain_export):
    photo = chain_export["dir"] / "photos" / chain_export["photo"]
    photo.write_bytes(media.jpeg(media.marked_image((64, 64))))
    result = run_verifier(chain_export["dir"], chain_export["key"])
    assert result.returncode == 1
    [problem] = problems(result)
    assert problem.startswith(f"PROBLEM photo {chain_export['photo']} (event n=3): its bytes")
    assert problem.endswith("(replaced)")
    photo.unlink()
    assert problems(run_verifier(chain_export["dir"], chain_export["key"])) == [
        f"PROBLEM photo {chain_export['photo']} (event n=3) is not in the export"
    ]


def test_signatures_are_checked_with_the_given_key_only(chain_export, tmp_path):
    stranger = signing.private_key(signing.generate_seed_b64())
    other = tmp_path / "other.pem"
    other.write_text(signing.public_pem(stranger))
    result = run_verifier(chain_export["dir"], other)
    assert result.returncode == 1
    assert len(problems(result)) == 2
    assert all(f"not {signing.key_id(stranger)}" in p for p in problems(result))
    # After a key rotation the auditor passes the old key too: each signature names its key.
    both = run_verifier(chain_export["dir"], other, "--public-key", str(chain_export["key"]))
    assert both.returncode == 0, both.stdout


def test_a_range_export_says_the_link_before_it_is_unchecked(built):
    checked = run_verifier(built["base"] / "range", built["key"])
    assert checked.returncode == 0, checked.stdout
    assert (
        "note: the export starts at n=4: its link to event 3 (not exported) is not checked"
        in checked.stdout
    )
    assert checked.stdout.splitlines()[-2] == (
        f"INTACT chain {built['chain']}: 2 events (4..5), 1 signed heads checked, 0 photos checked"
    )


def _fix_manifest(directory: Path, **values) -> None:
    """A forger edits the (unsigned) manifest to match what they left."""
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(values)
    path.write_text(json.dumps(manifest))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_untouched_export_passes_with_its_server_stopped(tmp_path, settings):
    """On a MongoDB-wire server of its own (the suite's keeps running): a chain with a photo,
    signed and exported; then the server is stopped before the verifier runs."""
    port = _free_port()
    server = subprocess.Popen(
        [
            "java",
            "-cp",
            CLASSPATH,
            "MongoWire",
            "--port",
            str(port),
            "--data",
            str(tmp_path / "db"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert "ready" in server.stdout.readline()
        with MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=5000) as mongo:
            db = mongo.audit
            now = utcnow()
            photo = media.jpeg()
            BlobStore(db).put(photo, now=now, content_type="image/jpeg")
            made = [
                event.event(
                    None,
                    "thing.create",
                    "thing",
                    f"t{i}",
                    before=None,
                    after={"i": i},
                    now=now + timedelta(seconds=i),
                    key=f"k{i}",
                    photos=[media.sha256(photo)] if i == 2 else (),
                )
                for i in range(5)
            ]
            key = signing.private_key(settings.audit_signing_key)
            chain.append(db, made[:3])
            heads.sign_heads(db, key, now=now)
            chain.append(db, made[3:])
            heads.sign_heads(db, key, now=now)
            out = tmp_path / "export"
            export.export_chain(db, "system", out, now=now, read_photo=BlobStore(db).read)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(10)
        server.stdout.close()
    public = tmp_path / "key.pem"
    public.write_text(signing.public_pem(key))
    result = run_verifier(out, public)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-2] == (
        "INTACT chain system: 5 events (1..5), 2 signed heads checked, 1 photos checked"
    )


def test_checkpoints_are_read_from_log_lines_and_bad_input_is_exit_2(chain_export, tmp_path):
    signatures = (chain_export["dir"] / "signatures.jsonl").read_text().splitlines()
    logged = tmp_path / "worker.log"  # what `grep 'audit head signed'` on the JSON logs gives
    logged.write_text(
        "".join(
            json.dumps({"message": "audit head signed", "signed_head": json.loads(line)}) + "\n"
            for line in signatures
        )
    )
    ok = run_verifier(chain_export["dir"], chain_export["key"], "--checkpoint", str(logged))
    assert ok.returncode == 0, ok.stdout
    assert "4 signed heads checked" in ok.stdout
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    bad = run_verifier(chain_export["dir"], garbage)
    assert bad.returncode == 2
    assert "cannot read the input" in bad.stderr
