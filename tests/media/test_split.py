"""Photo records of the one-record-per-hash layout become upload contexts at `init-db`
(media/split.py): each tenant then sees only its own, and running it again changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from media import links
from media.split import split_legacy_photos
from server.actor import Role
from server.clock import utcnow
from server.models.photo import Photo, PhotoContext, context_key, link_key
from tests.factories import JurisdictionFactory, regulator
from tests.media import helpers as h


@pytest.fixture
def rectifications(world):
    """`stand_in` links: enterprise B's objects (only its users and admins see them)."""
    b = world["other_enterprise"]

    def resolve(actor, link_id):
        if actor.is_admin or actor.enterprise_id == b.id:
            return links.LinkTarget(enterprise_id=b.id)
        return None

    links.register_link_kind("stand_in", resolve)
    yield
    links.unregister_link_kind("stand_in")


def _link(kind, link_id, user, at, item_code=None):
    return {
        "key": link_key(kind, link_id, item_code),
        "kind": kind,
        "id": link_id,
        "item_code": item_code,
        "linked_by": user.id,
        "linked_at": at,
    }


@pytest.fixture
def legacy(db, store, world, hazards, rectifications):
    """One record as the old layout wrote it: the inspector's upload for A's hazard, then
    B's manager and an inspector of a third jurisdiction linking the same bytes."""
    data = h.jpeg()
    sha = h.sha256(data)
    now = utcnow() - timedelta(days=3)
    store.put(data, now=now, content_type="image/jpeg")
    thumbnail = store.put(h.jpeg(h.marked_image((64, 48)), exif=h.exif_block()), now=now)["_id"]
    review = store.put(h.jpeg(h.marked_image((160, 120)), exif=h.exif_block()), now=now)["_id"]
    users = world["users"]
    stranger = regulator(Role.INSPECTOR, JurisdictionFactory())
    made = [
        _link("finding", "h-1", users["inspector"], now),
        _link("finding", "h-1", users["inspector"], now, item_code="CS-02"),
        _link("stand_in", "r-7", users["manager_b"], now + timedelta(hours=1)),
        _link("finding", "h-1", stranger, now + timedelta(hours=2)),  # ahead of nothing of theirs
    ]
    db["photos"].insert_one(
        {
            "_id": sha,
            "format": "JPEG",
            "content_type": "image/jpeg",
            "size": len(data),
            "width": 640,
            "height": 480,
            "orientation": None,
            "filename": "IMG_0001.jpg",
            "captured_local": "2024:05:01 10:23:45",
            "captured_offset": "+08:00",
            "gps": {"latitude": 31.2304, "longitude": 121.4737, "altitude": 12.5},
            "make": "Xiaomi",
            "model": "Redmi Note 12",
            "exif": {"image": {"Make": "Xiaomi"}},
            "uploader_id": users["inspector"].id,
            "enterprise_id": world["enterprise"].id,
            "received_at": now,
            "device_time": now,
            "clock_skew_seconds": 0.0,
            "skew_flag": False,
            "thumbnail": thumbnail,
            "review": review,
            "links": made,
            "link_keys": [m["key"] for m in made],
        }
    )
    return {"sha": sha, "review": review, "stranger": stranger, "now": now}


def test_init_db_splits_a_record_into_one_context_per_uploader_and_object(
    app, client, db, store, settings, world, legacy, auth_headers
):
    url = f"/api/v1/photos/{legacy['sha']}"
    # Not converted yet: it shows nobody anything rather than one tenant another's record.
    assert client.get(url, headers=world["headers"]["manager_b"]).status_code == 404
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "1 photo records split into upload contexts" in result.output
    users, sha = world["users"], legacy["sha"]
    photo = db["photos"].find_one({"_id": sha})
    assert "links" not in photo and "uploader_id" not in photo and "review" not in photo
    first = context_key(sha, users["inspector"].id, "finding", "h-1")
    second = context_key(sha, users["manager_b"].id, "stand_in", "r-7")
    third = context_key(sha, legacy["stranger"].id, "finding", "h-1")
    assert photo["contexts"] == [first, second, third]
    a = PhotoContext.objects.get(id=first)
    assert (a.filename, a.review, a.enterprise_id) == (
        "IMG_0001.jpg",
        legacy["review"],
        world["enterprise"].id,
    )
    assert [link.item_code for link in a.links] == [None, "CS-02"] and a.pending is False
    b = PhotoContext.objects.get(id=second)
    assert b.filename is None and b.review != legacy["review"]
    assert b.received_at == legacy["now"] + timedelta(hours=1)
    assert f"企业：{world['other_enterprise'].name}" in b.watermark
    assert f"上传人员：{users['manager_b'].display_name}" in b.watermark
    assert PhotoContext.objects.get(id=third).pending is True

    seen_by_b = client.get(url, headers=world["headers"]["manager_b"]).get_json()
    assert seen_by_b["contexts"] == [second] and seen_by_b["filename"] is None
    assert [x["id"] for x in seen_by_b["links"]] == ["r-7"]
    for name in ("supervisor", "manager", "inspector2"):
        seen = client.get(url, headers=world["headers"][name]).get_json()
        assert seen["contexts"] == [first], name
        assert seen["filename"] == "IMG_0001.jpg"
    shown = client.get(seen_by_b["review_url"], headers=world["headers"]["manager_b"])
    assert shown.status_code == 200 and store.read_all(b.review) == shown.data
    stranger = client.get(url, headers=auth_headers(legacy["stranger"])).get_json()
    assert stranger["contexts"] == [third]
    admin = client.get(url, headers=world["headers"]["admin"]).get_json()
    assert admin["contexts"] == [first, second, third]

    # Again: nothing left to convert, nothing derived twice.
    blobs = db["media_blobs"].count_documents({})
    assert split_legacy_photos(db, settings=settings, store=store) == 0
    assert db["media_blobs"].count_documents({}) == blobs
    assert Photo.objects.get(id=sha).contexts == [first, second, third]


def test_an_interrupted_split_finishes_without_deriving_twice(db, store, settings, legacy):
    sha = legacy["sha"]
    old = db["photos"].find_one({"_id": sha})
    split_legacy_photos(db, settings=settings, store=store)
    before = {d["_id"]: d for d in db["photo_contexts"].find()}
    blobs = db["media_blobs"].count_documents({})
    # As if the run had died after writing the contexts, before removing the old fields.
    db["photos"].update_one({"_id": sha}, {"$set": {k: v for k, v in old.items() if k != "_id"}})
    assert split_legacy_photos(db, settings=settings, store=store) == 1
    assert {d["_id"]: d for d in db["photo_contexts"].find()} == before
    assert db["media_blobs"].count_documents({}) == blobs
    after = db["photos"].find_one({"_id": sha})
    assert "uploader_id" not in after and sorted(after["contexts"]) == sorted(before)
