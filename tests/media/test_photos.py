"""Serving photo evidence: scoping per role, the GPS policy, caching of derived copies, and
byte ranges of the original streamed from the blob store."""

from __future__ import annotations

import pytest

from media.blobstore import CHUNK_SIZE
from tests.media import helpers as h


@pytest.fixture
def photo(client, world, hazards):
    """A 12-MP photo by the inspector, evidence for enterprise A's hazard h-1."""
    data = h.noisy_jpeg((4000, 3000), seed=11)
    assert len(data) > 2 * CHUNK_SIZE
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    return {"sha": h.sha256(data), "data": data}


@pytest.mark.parametrize(
    "role,visible,gps",
    [
        ("admin", True, True),
        ("inspector", True, True),  # the uploader
        ("inspector2", True, True),  # sees the hazard (same jurisdiction)
        ("supervisor", True, True),
        ("manager", True, False),  # enterprise A sees its hazard's evidence, not positions
        ("worker", True, False),
        ("manager_b", False, False),  # another tenant
    ],
)
def test_who_sees_a_photo_and_its_position(client, world, photo, role, visible, gps):
    headers = world["headers"][role]
    url = f"/api/v1/photos/{photo['sha']}"
    response = client.get(url, headers=headers)
    if not visible:
        assert response.status_code == 404
        assert response.get_json()["type"] == "/problems/not-found"
        for suffix in ("/thumbnail", "/review", "/original"):
            assert client.get(url + suffix, headers=headers).status_code == 404
        return
    body = response.get_json()
    assert body["id"] == photo["sha"] and body["format"] == "JPEG"
    assert body["thumbnail_url"] == url + "/thumbnail"
    assert ("gps" in body) is gps and ("gps" in body["exif"]) is gps
    if gps:
        assert body["gps"]["latitude"] == pytest.approx(31.2304, abs=1e-4)
    assert client.get(url + "/thumbnail", headers=headers).status_code == 200
    assert client.get(url + "/review", headers=headers).status_code == 200
    original = client.get(url + "/original", headers=headers)
    assert original.status_code == (200 if gps else 403)


def test_enterprise_users_see_positions_of_their_own_uploads(client, world, hazards):
    data = h.jpeg()
    headers = world["headers"]["manager"]
    assert h.upload(client, headers, data).status_code == 204
    body = client.get(f"/api/v1/photos/{h.sha256(data)}", headers=headers).get_json()
    assert body["gps"]["longitude"] == pytest.approx(121.4737, abs=1e-4)
    # ...but not the inspector of another enterprise's photos (manager_b sees nothing of A).
    assert (
        client.get(
            f"/api/v1/photos/{h.sha256(data)}", headers=world["headers"]["manager_b"]
        ).status_code
        == 404
    )


def test_unknown_and_malformed_ids_are_404(client, world, photo):
    headers = world["headers"]["admin"]
    for sha in ("0" * 64, "nope", photo["sha"][:-1]):
        assert client.get(f"/api/v1/photos/{sha}", headers=headers).status_code == 404
        assert client.get(f"/api/v1/photos/{sha}/original", headers=headers).status_code == 404


@pytest.mark.parametrize("which", ["thumbnail", "review"])
def test_derived_copies_are_immutable_and_revalidate_with_304(client, world, photo, which):
    headers = world["headers"]["inspector"]
    url = f"/api/v1/photos/{photo['sha']}/{which}"
    first = client.get(url, headers=headers)
    assert first.status_code == 200 and first.mimetype == "image/jpeg"
    assert first.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert first.headers["X-Content-Type-Options"] == "nosniff"
    etag = first.headers["ETag"]
    assert etag == f'"{h.sha256(first.data)}"'  # the blob hash
    again = client.get(url, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={**headers, "If-None-Match": '"other"'}).status_code == 200


def test_original_is_served_untouched(client, world, photo):
    headers = world["headers"]["supervisor"]
    url = f"/api/v1/photos/{photo['sha']}/original"
    response = client.get(url, headers=headers)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == str(len(photo["data"]))
    assert response.data == photo["data"]
    assert (
        client.get(url, headers={**headers, "If-None-Match": f'"{photo["sha"]}"'}).status_code
        == 304
    )


def test_original_byte_ranges(client, world, photo):
    headers = world["headers"]["inspector"]
    url = f"/api/v1/photos/{photo['sha']}/original"
    data, size = photo["data"], len(photo["data"])
    lo, hi = CHUNK_SIZE - 10, CHUNK_SIZE + 9  # across a chunk boundary
    part = client.get(url, headers={**headers, "Range": f"bytes={lo}-{hi}"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes {lo}-{hi}/{size}"
    assert part.data == data[lo : hi + 1]
    tail = client.get(url, headers={**headers, "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == data[-100:]
    beyond = client.get(url, headers={**headers, "Range": f"bytes={size}-"})
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{size}"
    assert beyond.get_json()["type"] == "/problems/range-not-satisfiable"
    stale = client.get(url, headers={**headers, "Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.data == data


def test_links_are_listed(client, world, photo):
    body = client.get(
        f"/api/v1/photos/{photo['sha']}", headers=world["headers"]["admin"]
    ).get_json()
    assert [(x["kind"], x["id"], x["linked_by"]) for x in body["links"]] == [
        ("finding", "h-1", str(world["users"]["inspector"].id))
    ]


def test_links_into_another_tenants_file_are_not_shown(client, world, hazards, auth_headers):
    """The same bytes are evidence for A's hazard and for an object only B may see."""
    from media import links

    b = world["other_enterprise"]

    def rectifications(actor, link_id):
        return actor.is_admin or actor.enterprise_id == b.id

    links.register_link_kind("stand_in", rectifications)
    try:
        data = h.jpeg()
        assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
        meta = h.photo_metadata(data, "r-7", kind="stand_in")
        assert h.upload(client, world["headers"]["manager_b"], data, meta=meta).status_code == 204
        url = f"/api/v1/photos/{h.sha256(data)}"
        seen_by_a = client.get(url, headers=world["headers"]["manager"]).get_json()
        seen_by_b = client.get(url, headers=world["headers"]["manager_b"]).get_json()
        seen_by_admin = client.get(url, headers=world["headers"]["admin"]).get_json()
        second = client.get(
            f"{url}?context={seen_by_admin['contexts'][1]}", headers=world["headers"]["admin"]
        ).get_json()
    finally:
        links.unregister_link_kind("stand_in")
    assert [x["id"] for x in seen_by_a["links"]] == ["h-1"]
    assert [x["id"] for x in seen_by_b["links"]] == ["r-7"]
    assert len(seen_by_a["contexts"]) == len(seen_by_b["contexts"]) == 1
    assert seen_by_a["uploader_id"] == str(world["users"]["inspector"].id)
    assert seen_by_b["uploader_id"] == str(world["users"]["manager_b"].id)
    assert seen_by_admin["contexts"] == [seen_by_a["context"], seen_by_b["context"]]
    assert [x["id"] for x in seen_by_admin["links"]] == ["h-1"]
    assert [x["id"] for x in second["links"]] == ["r-7"]


def test_an_unknown_range_unit_is_ignored(client, world, photo):
    # RFC 9110 §14.2: a server ignores a Range header field with a unit it does not know.
    headers = world["headers"]["inspector"]
    url = f"/api/v1/photos/{photo['sha']}/original"
    response = client.get(url, headers={**headers, "Range": "items=0-5"})
    assert response.status_code == 200
    assert "Content-Range" not in response.headers
    assert response.data == photo["data"]
