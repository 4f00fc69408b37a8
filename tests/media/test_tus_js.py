"""tus-js-client 4 (what the phones' web view uploads with) against the API in a process of
its own (`tests.media.serve_api`): `overridePatchMethod`, `uploadDataDuringCreation`,
resuming by fingerprint from a URL storage that outlives the client, and by `uploadUrl`;
and answers to requests whose body the server did not read still arrive, followed by the
next request's on the same client connection."""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.models.photo import Photo
from server.models.upload import Upload
from tests.media import helpers as h

JS = Path(__file__).parent / "js"
CHUNK = 32 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api():
    """(host, port) of a fresh API process, stopped after the module."""
    if shutil.which("node") is None or not (JS / "node_modules" / "tus-js-client").is_dir():
        pytest.fail("tus-js-client is not installed: run scripts/bootstrap.sh (make install)")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.media.serve_api"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(child.stdout.readline())
        yield "127.0.0.1", port
    finally:
        child.stdin.close()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        child.stdout.close()


@pytest.fixture
def photo(tmp_path):
    data = h.noisy_jpeg((800, 600), seed=7)  # about 6 chunks of 32 KiB
    assert 4 * CHUNK < len(data) < 8 * CHUNK, len(data)
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(data)
    return path


def _run(api, world, path: Path, **job) -> dict:
    host, port = api
    data = path.read_bytes()
    job = {
        "endpoint": f"http://{host}:{port}/api/v1/uploads",
        "file": str(path),
        "headers": world["headers"]["inspector"],
        "metadata": {"sha256": h.sha256(data), "link_kind": "finding", "link_id": "h-1"},
        "chunkSize": CHUNK,
        **job,
    }
    done = subprocess.run(
        ["node", str(JS / "upload.js")],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _stored(path: Path) -> bool:
    return Photo.objects(id=h.sha256(path.read_bytes())).count() == 1


def test_override_patch_method(api, world, db, photo):
    result = _run(api, world, photo, overridePatchMethod=True)
    assert result["outcome"] == "success", result
    patches = result["requests"][1:]
    assert patches and all(
        (r["method"], r["override"], r["status"]) == ("POST", "PATCH", 204) for r in patches
    )
    assert _stored(photo)


def test_upload_data_during_creation(api, world, db, photo):
    result = _run(api, world, photo, uploadDataDuringCreation=True)
    assert result["outcome"] == "success", result
    created, *patches = result["requests"]
    assert (created["method"], created["status"], created["offset"]) == ("POST", 201, str(CHUNK))
    assert [r["status"] for r in patches] == [204] * len(patches)
    assert _stored(photo)


def test_resume_by_fingerprint_after_an_abort(api, world, db, photo, tmp_path):
    storage = str(tmp_path / "tus-urls.json")
    first = _run(api, world, photo, storage=storage, resume=True, abortAt=2 * CHUNK)
    assert first["outcome"] == "aborted", first
    assert not _stored(photo)
    second = _run(api, world, photo, storage=storage, resume=True)
    assert second["outcome"] == "success", second
    assert second["url"] == first["url"]  # found in the storage by the file's fingerprint
    head = second["requests"][0]
    assert (head["method"], head["status"]) == ("HEAD", 200)
    assert int(head["offset"]) >= 2 * CHUNK  # resumed, not sent again
    assert Upload.objects.count() == 1 and _stored(photo)


def test_resume_by_upload_url(api, world, db, photo):
    first = _run(api, world, photo, abortAt=CHUNK)
    assert first["outcome"] == "aborted", first
    second = _run(api, world, photo, uploadUrl=first["url"])
    assert second["outcome"] == "success", second
    head = second["requests"][0]
    assert (head["method"], int(head["offset"])) == ("HEAD", CHUNK)
    assert Upload.objects.count() == 1 and _stored(photo)


def test_answers_arrive_after_a_body_the_server_did_not_read(api, world, db, photo):
    # A creation POST with a body of another type, and a PATCH refused before its body is
    # read: each answered; the next request on the same connection must parse.
    data = photo.read_bytes()
    headers = {**world["headers"]["inspector"], **h.TUS}
    connection = http.client.HTTPConnection(*api, timeout=10)
    connection.request(
        "POST",
        "/api/v1/uploads",
        body=b"x" * 1000,
        headers={
            **headers,
            "Content-Type": "text/plain",
            "Upload-Length": str(len(data)),
            "Upload-Metadata": h.photo_metadata(data),
        },
    )
    created = connection.getresponse()
    created.read()
    assert created.status == 201
    url = created.getheader("Location")
    for _ in range(2):
        connection.request(
            "PATCH",
            url,
            body=data[:5000],
            headers={
                **headers,
                "Upload-Offset": "7",
                "Content-Type": "application/offset+octet-stream",
            },
        )
        refused = connection.getresponse()
        refused.read()
        assert refused.status == 409
    connection.request("HEAD", url, headers=headers)
    head = connection.getresponse()
    head.read()
    assert (head.status, head.getheader("Upload-Offset")) == (200, "0")
    connection.close()
