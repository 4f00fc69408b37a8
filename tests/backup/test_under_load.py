"""A backup taken while five phones push inspections and upload photos through the API, restored
into a fresh server, holds every inspection and photo acknowledged before it began, photos byte
for byte, and everything it holds is consistent: a receipt only with its change, a photo only
with all its bytes, an inspection that says its photos arrived only with them, a feed number
only with its entry; after `finish` every phone's old cursor pulls the restored state."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from checklists.versions import pinned_template
from media.blobstore import BlobStore
from server.backup.dump import backup
from server.backup.restore import finish, load
from sync import feed
from tests.backup.conftest import archived_documents, raw_documents, user_collections, with_photos
from tests.media.helpers import noisy_jpeg
from tests.sync.helpers import make_world, passing_answers, phone_for

PHONES = 5
#: Most rounds a phone makes (create, edit the previous one, push, upload, pull); the backup
#: ends the work long before.
ROUNDS = 60


@pytest.mark.slow
def test_a_backup_while_five_phones_push_restores_everything_acknowledged_before_it(
    app, auth_headers, published, db, fresh_db, tmp_path
):
    cs = pinned_template("CS", 1)
    _j, enterprise, inspectors = make_world(inspectors=PHONES)
    phones = [
        phone_for(app.test_client(), user, auth_headers, device_id=f"busy-phone-{i}", seed=i)
        for i, user in enumerate(inspectors)
    ]
    pictures = [
        [noisy_jpeg(size=(800, 600), seed=40 + 4 * i + k) for k in range(4)] for i in range(PHONES)
    ]
    pictures[0][0] = noisy_jpeg(size=(2000, 1500), seed=3)  # more than one blob chunk
    originals = {hashlib.sha256(p).hexdigest(): p for shots in pictures for p in shots}
    acked: list[tuple[float, str, int]] = []  # (when the receipt arrived, inspection, version)
    photos_acked: list[tuple[float, str]] = []  # (when its upload finished, sha256)
    lock, stop, failures = threading.Lock(), threading.Event(), []

    def work(i: int) -> None:
        phone, mine = phones[i], []
        try:
            for n in range(ROUNDS):
                if stop.is_set():
                    return
                answers = passing_answers(cs, 3)
                if n % 3 == 0 and n // 3 < len(pictures[i]):
                    answers = with_photos(cs, phone.take_photo(pictures[i][n // 3]))
                mine.append(
                    phone.create_inspection(
                        enterprise_id=str(enterprise.id),
                        checklist_code="CS",
                        checklist_version=1,
                        answers=answers,
                    )
                )
                if len(mine) > 1:
                    phone.edit(mine[-2], note=f"round {n}")
                receipts = phone.push()
                pushed = time.monotonic()
                wanted = {sha for sha, _inspection in phone.photos_wanted}
                phone.upload_photos()
                uploaded = time.monotonic()
                phone.pull()
                with lock:
                    acked.extend(
                        (pushed, r["id"], r["version"])
                        for r in receipts
                        if r.get("first_status", r["status"]) == "applied"
                    )
                    still = {sha for sha, _inspection in phone.photos_wanted}
                    photos_acked.extend((uploaded, h) for h in wanted - still)
        except Exception as exc:  # surfaced by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(PHONES)]
    for t in threads:
        t.start()
    _wait_until(lambda: len({a[1] for a in acked}) >= 2 * PHONES and len(photos_acked) >= PHONES)
    started = time.monotonic()
    backup(db, tmp_path / "dump")
    ended = time.monotonic()
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures
    assert any(started < when < ended for when, _i, _v in acked), "nobody pushed during it"

    load(fresh_db, tmp_path / "dump")
    directory = tmp_path / "dump" / db.name
    for name in user_collections(fresh_db):
        assert raw_documents(fresh_db, name) == archived_documents(directory / f"{name}.bson")

    # Every inspection acknowledged before the backup began, at its version or a later one.
    restored = {d["_id"]: d for d in fresh_db["inspections"].find()}
    before = [(i, v) for when, i, v in acked if when < started]
    assert before and all(i in restored and restored[i]["version"] >= v for i, v in before)
    # Every photo acknowledged before it began, byte for byte through the blob store.
    store = BlobStore(fresh_db)
    photos = {d["_id"]: d for d in fresh_db["photos"].find()}
    for _when, sha in (p for p in photos_acked if p[0] < started):
        assert sha in photos and store.read_all(sha) == originals[sha]
    assert any(len(originals[sha]) > 1 << 20 for sha in photos)

    _assert_consistent(fresh_db, restored, photos, originals)
    finish(fresh_db, feed_gap=2000)
    for phone, user in zip(phones, inspectors, strict=True):
        want = {
            d["_id"]: d["version"]
            for d in restored.values()
            if d["inspector_id"] == user.id and d.get("deleted_at") is None
        }
        assert _versions(fresh_db, user.actor(device_id=phone.device_id), phone.cursor) == want


def _assert_consistent(db, inspections: dict, photos: dict, originals: dict) -> None:
    """What the archive holds names only what it also holds."""
    store = BlobStore(db)
    for sha, photo in photos.items():
        for blob in (sha, photo["thumbnail"]):
            assert hashlib.sha256(store.read_all(blob)).hexdigest() == blob
        assert store.read_all(sha) == originals[sha]
    evidence = set()
    for context in db["photo_contexts"].find():
        assert context["photo"] in photos
        blob = context["review"]
        assert hashlib.sha256(store.read_all(blob)).hexdigest() == blob
        evidence.add((context["photo"], context["target_id"]))
    for doc in inspections.values():
        arrived = set(doc.get("photos") or ()) - set(doc.get("missing_photos") or ())
        assert {(sha, doc["_id"]) for sha in arrived} <= evidence, doc["_id"]
        assert doc["photos_complete"] == (not doc.get("missing_photos"))
        assert db["enterprises"].count_documents({"_id": doc["enterprise_id"]}) == 1
        assert db["users"].count_documents({"_id": doc["inspector_id"]}) == 1
        if doc.get("sync_seq") is not None:
            entry = db["sync_log"].find_one({"_id": doc["sync_seq"]})
            assert entry is not None and entry["d"] == doc["_id"]
    for stored in db["sync_receipts"].find():
        receipt = stored["receipt"]
        if receipt.get("first_status", receipt["status"]) == "applied":
            assert inspections[receipt["id"]]["version"] >= receipt["version"]


def _versions(db, actor, cursor) -> dict:
    """The inspections a phone ends with, pulling from `cursor`: id -> version."""
    seen: dict = {}
    while True:
        page = feed.pull(db, actor, cursor=cursor)
        for change in page.decoded():
            if change["collection"] == "inspections":
                if change["op"] == "delete":
                    seen.pop(change["id"], None)
                else:
                    seen[change["id"]] = change["data"]["version"]
        cursor = page.cursor
        if not page.has_more:
            return seen


def _wait_until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the phones did not get going"
        time.sleep(0.05)
