"""Uploads and photos answer what the OpenAPI document says: the tus headers of each answer,
the photo's metadata, the image media types of its copies and original, byte ranges and their
refusal (tests/api/conformance.py checks each answer). The fuzz test rarely gets this far: a
tus creation needs valid metadata, a photo a finished upload."""

from __future__ import annotations

from tests.api.conformance import conforms
from tests.media import helpers as h

UPLOADS, UPLOAD = "/api/v1/uploads", "/api/v1/uploads/{upload_id}"
PHOTO = "/api/v1/photos/{sha256}"


def _upload_id(created) -> str:
    return created.headers["Location"].rsplit("/", 1)[-1]


def test_a_tus_upload_answers_what_the_document_says(client, world, hazards):
    headers = world["headers"]["inspector"]
    data = h.jpeg()
    conforms(client.options(UPLOADS), "options", UPLOADS)
    created = h.create(client, headers, data)
    assert created.status_code == 201
    upload_id = _upload_id(created)
    url = created.headers["Location"]
    conforms(created, "post", UPLOADS)
    conforms(client.options(url), "options", UPLOAD, upload_id=upload_id)
    half = len(data) // 2
    for answer in (
        h.patch(client, headers, url, 1, data[:half]),  # 409: the offset is 0
        h.patch(client, headers, url, 0, data[:half], h.b64digest(b"other")),  # 460
        h.patch(client, headers, url, 0, data[:half]),
        client.head(url, headers={**headers, **h.TUS}),
        h.patch(client, headers, url, half, data[half:]),
    ):
        conforms(
            answer,
            "patch" if answer.request.method == "PATCH" else "head",
            UPLOAD,
            upload_id=upload_id,
        )
    assert answer.status_code == 204 and answer.headers["Photo-Id"] == h.sha256(data)

    other = h.png()
    created = client.post(
        UPLOADS,
        data=other,
        headers={
            **headers,
            **h.TUS,
            "Upload-Length": str(len(other) * 2),
            "Upload-Metadata": h.photo_metadata(other),
            "Content-Type": "application/offset+octet-stream",
        },
    )
    assert created.status_code == 201 and created.headers["Upload-Offset"] == str(len(other))
    conforms(created, "post", UPLOADS)
    ended = client.delete(created.headers["Location"], headers={**headers, **h.TUS})
    assert ended.status_code == 204
    conforms(ended, "delete", UPLOAD, upload_id=_upload_id(created))


def test_a_photo_and_its_images_answer_what_the_document_says(client, world, hazards):
    headers = world["headers"]["inspector"]
    for data, media_type in ((h.jpeg(), "image/jpeg"), (h.png(), "image/png")):
        assert h.upload(client, headers, data).status_code == 204
        sha = h.sha256(data)
        url = f"/api/v1/photos/{sha}"
        conforms(client.get(url, headers=headers), "get", PHOTO, sha256=sha)
        for copy in ("thumbnail", "review"):
            answer = client.get(f"{url}/{copy}", headers=headers)
            assert answer.mimetype == "image/jpeg"
            conforms(answer, "get", f"{PHOTO}/{copy}", sha256=sha)
            again = client.get(
                f"{url}/{copy}", headers={**headers, "If-None-Match": answer.headers["ETag"]}
            )
            assert again.status_code == 304
            conforms(again, "get", f"{PHOTO}/{copy}", sha256=sha)
        original = f"{url}/original"
        whole = client.get(original, headers=headers)
        assert whole.status_code == 200 and whole.mimetype == media_type
        ranged = client.get(original, headers={**headers, "Range": "bytes=0-9"})
        refused = client.get(original, headers={**headers, "Range": f"bytes={len(data)}-"})
        unchanged = client.get(original, headers={**headers, "If-None-Match": f'"{sha}"'})
        assert [ranged.status_code, refused.status_code, unchanged.status_code] == [206, 416, 304]
        for answer in (whole, ranged, refused, unchanged):
            conforms(answer, "get", f"{PHOTO}/original", sha256=sha)
