"""The commands: `flask ... backup` on the app's database, and `python -m server.backup` with
MONGODB_URI alone (no SECRET_KEY), as a county office restoring onto a new machine runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.backup.conftest import raw_documents, user_collections

ROOT = Path(__file__).resolve().parents[2]


def _standalone(*args: str, uri: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"} | {"MONGODB_URI": uri}
    return subprocess.run(
        [sys.executable, "-m", "server.backup", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _uri(db) -> str:
    host, port = db.client.address
    return f"mongodb://{host}:{port}/{db.name}"


def test_flask_backup_then_standalone_restore_onto_another_server(
    app, populated, db, fresh_db, tmp_path
):
    out = tmp_path / "dump"
    result = app.test_cli_runner().invoke(args=["backup", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "media_chunks:" in result.output and f"written to {out}" in result.output

    restored = _standalone("restore", str(out), "--feed-gap", "100", uri=_uri(fresh_db))
    assert restored.returncode == 0, restored.stderr
    assert "restored" in restored.stdout and "re-sequenced" in restored.stdout
    assert user_collections(fresh_db) == user_collections(db)
    assert raw_documents(fresh_db, "photos") == raw_documents(db, "photos")

    again = _standalone("restore", str(out), uri=_uri(fresh_db))
    assert again.returncode == 1 and "is not empty" in again.stderr
    finished = _standalone("finish-restore", "--feed-gap", "10", uri=_uri(fresh_db))
    assert finished.returncode == 0 and "indexes ensured" in finished.stdout


def test_standalone_backup_needs_only_the_uri(populated, db, tmp_path):
    made = _standalone("backup", "--out", str(tmp_path / "dump"), uri=_uri(db))
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "dump" / db.name / "inspections.bson").is_file()
    refused = _standalone("backup", "--out", str(tmp_path / "dump"), uri=_uri(db))
    assert refused.returncode == 1 and "exists" in refused.stderr
