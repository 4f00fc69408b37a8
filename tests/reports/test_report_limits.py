"""What keeps the public channel safe: the rate per client address, the bounds on anonymous
photos, problem documents for bad input, and the reporter hidden from everyone but the
supervisors of the jurisdiction — per role."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from server.models.public_report import PublicReport
from server.models.user import User
from tests.reports.helpers import (
    API,
    CONTACT,
    add_photo,
    make_world,
    photo,
    report_body,
    send,
    send_form,
)

PROBLEM = "application/problem+json"


@pytest.fixture
def world(client, auth_headers):
    return make_world(auth_headers)


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == PROBLEM
    body = response.get_json()
    assert body["status"] == status and body["type"].startswith("/problems/")
    return body


def test_reports_are_limited_per_client_address(client, world, settings):
    assert settings.public_report_rate_limit == "5 per hour"
    for _ in range(5):
        assert send(client, report_body(world)).status_code == 201
    refused = send(client, report_body(world))
    body = _problem(refused, 429)
    assert body == {
        "type": "/problems/too-many-requests",
        "title": "Too many requests",
        "status": 429,
        "detail": "too many reports from this address; try again later",
        "instance": API,
        "request_id": body["request_id"],
    }
    assert 3500 < int(refused.headers["Retry-After"]) <= 3600
    # The form counts against the same address; another address is not held back.
    page = send_form(client, report_body(world), [], address="203.0.113.7")
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "提交过于频繁" in page.get_data(as_text=True)
    assert send(client, report_body(world), address="203.0.113.8").status_code == 201
    assert PublicReport.objects.count() == 6


def test_photos_are_bounded_per_report(client, world, settings):
    code = send(client, report_body(world)).get_json()["code"]
    most = settings.public_report_max_photos
    for i in range(most):
        assert add_photo(client, code, photo(i + 1)).status_code == 201
    again = add_photo(client, code, photo(1))  # one it has: stored once, no error
    assert again.status_code == 201 and again.get_json()["photos"] == most
    body = _problem(add_photo(client, code, photo(most + 1)), 422)
    assert body["reasons"] == [{"rule": "public_report_photo_count", "max": most}]
    assert len(PublicReport.objects.get().photos) == most


def test_a_photo_past_the_size_limit_is_refused_unread(client, world, settings):
    code = send(client, report_body(world)).get_json()["code"]
    limit = settings.public_report_max_photo_bytes
    body = _problem(add_photo(client, code, b"\xff\xd8\xff" + bytes(limit)), 413)
    assert body["limit"] == limit and body["unit"] == "bytes"
    assert PublicReport.objects.get().photos == []


@pytest.mark.parametrize(
    "data,status",
    [
        (b"GIF89a" + bytes(64), 415),  # not a photo format
        (b"\xff\xd8\xff\xe0" + bytes(64), 422),  # a JPEG that does not decode
        (b"", 422),  # empty
    ],
    ids=["gif", "corrupt", "empty"],
)
def test_what_is_not_a_photo_is_refused(client, world, db, data, status):
    code = send(client, report_body(world)).get_json()["code"]
    _problem(add_photo(client, code, data, content_type="application/octet-stream"), status)
    assert PublicReport.objects.get().photos == [] and db.photos.count_documents({}) == 0


def test_the_form_stores_nothing_when_a_photo_is_refused(client, world, db, settings):
    too_many = [photo(i + 1) for i in range(settings.public_report_max_photos + 1)]
    page = send_form(client, report_body(world), too_many)
    assert page.status_code == 422 and "最多" in page.get_data(as_text=True)
    page = send_form(client, report_body(world), [photo(1), b"GIF89a" + bytes(64)])
    assert page.status_code == 415 and "JPEG" in page.get_data(as_text=True)
    assert PublicReport.objects.count() == 0 and db.photos.count_documents({}) == 0
    page = send_form(client, report_body(world, description=None), [])
    assert page.status_code == 422 and 'class="error"' in page.get_data(as_text=True)


def test_a_decided_report_takes_no_photos(client, world):
    code = send(client, report_body(world)).get_json()["code"]
    report = PublicReport.objects.get()
    sup = world["headers"]["supervisor"]
    client.post(f"{API}/{report.id}/dismissal", json={"reason": "重复举报"}, headers=sup)
    _problem(add_photo(client, code, photo()), 409)


@pytest.mark.parametrize(
    "changes,fields",
    [
        ({"description": None}, ["description"]),
        ({"description": ""}, ["description"]),
        ({"colour": "red"}, ["colour"]),
        ({"enterprise_id": "nope"}, ["enterprise_id"]),
        ({"contact": "x" * 201}, ["contact"]),
    ],
    ids=["missing", "empty", "unknown-field", "bad-id", "long-contact"],
)
def test_bad_reports_are_problems(client, world, changes, fields):
    body = _problem(send(client, report_body(world, **changes)), 422)
    assert [e["field"] for e in body["errors"]] == fields
    assert PublicReport.objects.count() == 0


def test_a_report_must_say_where(client, world, db):
    body = _problem(send(client, {"description": "有人违规动火"}), 422)
    assert [e["field"] for e in body["errors"]] == ["jurisdiction_id", "enterprise_name"]
    unknown = {"enterprise_id": "0" * 24, "description": "有人违规动火"}
    assert [e["field"] for e in _problem(send(client, unknown), 422)["errors"]] == ["enterprise_id"]
    elsewhere = report_body(world, jurisdiction_id="0" * 24)
    _problem(send(client, elsewhere), 422)
    mismatch = {
        "enterprise_id": str(world["firm"].id),
        "jurisdiction_id": str(world["J2"].id),
        "description": "有人违规动火",
    }
    _problem(send(client, mismatch), 422)
    bad_json = client.post(API, data="{", content_type="application/json")
    _problem(bad_json, 400)
    assert PublicReport.objects.count() == 0


def test_unknown_codes_are_not_found(client, world):
    _problem(client.get(f"{API}/follow-up/AAAA-BBBB-CCCC-DDDD"), 404)
    _problem(client.get(f"{API}/follow-up/short"), 404)
    _problem(add_photo(client, "AAAA-BBBB-CCCC-DDDD", photo()), 404)
    assert "未找到" in client.get("/report/status?code=nope").get_data(as_text=True)


def test_decisions_refuse_bad_input(client, world):
    send(client, report_body(world))
    report = PublicReport.objects.get()
    sup = world["headers"]["supervisor"]
    url = f"{API}/{report.id}"
    _problem(client.post(f"{url}/verification", json={}, headers=sup), 422)
    # The report named no known enterprise: the supervisor must.
    body = _problem(client.post(f"{url}/verification", json={"level": "general"}, headers=sup), 422)
    assert body["reasons"] == [{"rule": "public_report_enterprise_known"}]
    other = world["J2"]
    from tests.factories import EnterpriseFactory

    elsewhere = EnterpriseFactory(jurisdiction_id=other.id)
    outside = {"level": "general", "enterprise_id": str(elsewhere.id)}
    _problem(client.post(f"{url}/verification", json=outside, headers=sup), 404)
    _problem(client.post(f"{url}/dismissal", json={}, headers=sup), 422)
    _problem(client.get(f"{API}/not-an-id", headers=sup), 404)
    assert PublicReport.objects.get().status == "pending"


@pytest.fixture
def verified(client, world):
    """A report with a contact and a phone photo (GPS, make, owner), verified into a hazard."""
    code = send(client, report_body(world)).get_json()["code"]
    add_photo(client, code, photo())
    report = PublicReport.objects.get()
    sup = world["headers"]["supervisor"]
    answer = client.post(
        f"{API}/{report.id}/verification",
        json={"level": "general", "enterprise_id": str(world["firm"].id)},
        headers=sup,
    ).get_json()
    return {"report": report, "hazard_id": answer["hazard_id"], "photo": report.photos[0]}


#: What would tell who reported: their words of contact, their phone, their id on the photos.
def _traces(verified) -> list[str]:
    report = verified["report"]
    return [
        CONTACT,
        "13800138000",
        "王某某",
        "Huawei",
        "Mate 60",
        str(report.uploader_id),
        str(report.id),
    ]


def test_the_enterprise_never_sees_who_reported(client, world, verified):
    headers = world["headers"]["manager"]
    hazard = client.get(f"/api/v1/hazards/{verified['hazard_id']}", headers=headers)
    photo_meta = client.get(f"/api/v1/photos/{verified['photo']}", headers=headers)
    assert hazard.status_code == 200 and photo_meta.status_code == 200
    listed = client.get("/api/v1/hazards", headers=headers)
    seen = json.dumps([hazard.get_json(), listed.get_json()], ensure_ascii=False)
    for trace in _traces(verified):
        assert trace not in seen, trace
    meta = photo_meta.get_json()
    assert "gps" not in meta and not meta["exif"] and meta["make"] is None
    assert meta["filename"] is None
    assert "上传人员：—" in meta["watermark"]  # the review copy names no uploader
    assert User.objects(id=meta["uploader_id"]).first() is None  # an id of the report's own
    _problem(client.get(f"/api/v1/photos/{verified['photo']}/original", headers=headers), 403)
    review = client.get(f"/api/v1/photos/{verified['photo']}/review", headers=headers)
    assert review.status_code == 200 and not Image.open(io.BytesIO(review.data)).getexif()
    # The report itself is not theirs to read, list or decide.
    _problem(client.get(f"{API}/{verified['report'].id}", headers=headers), 404)
    assert client.get(API, headers=headers).get_json() == []
    _problem(
        client.post(
            f"{API}/{verified['report'].id}/dismissal", json={"reason": "x"}, headers=headers
        ),
        404,
    )


@pytest.mark.parametrize("who", ["worker", "inspector", "other_supervisor"])
def test_reports_are_the_jurisdictions_supervisors_alone(client, world, verified, who):
    headers = world["headers"][who]
    _problem(client.get(f"{API}/{verified['report'].id}", headers=headers), 404)
    assert client.get(API, headers=headers).get_json() == []
    verify = {"level": "major", "enterprise_id": str(world["firm"].id)}
    _problem(
        client.post(f"{API}/{verified['report'].id}/verification", json=verify, headers=headers),
        404,
    )
    if who == "other_supervisor":
        _problem(client.get(f"/api/v1/hazards/{verified['hazard_id']}", headers=headers), 404)
        _problem(client.get(f"/api/v1/photos/{verified['photo']}", headers=headers), 404)


def test_the_supervisor_sees_the_report_and_its_contact(client, world, verified):
    sup = world["headers"]["supervisor"]
    read = client.get(f"{API}/{verified['report'].id}", headers=sup).get_json()
    assert read["contact"] == CONTACT and read["status"] == "verified"
    hazard = client.get(f"/api/v1/hazards/{verified['hazard_id']}", headers=sup).get_json()
    assert CONTACT not in json.dumps(hazard, ensure_ascii=False)


def test_reports_are_limited_while_redis_is_down(app_without_redis, world):
    client = app_without_redis.test_client()
    for _ in range(5):
        assert send(client, report_body(world)).status_code == 201
    refused = send(client, report_body(world))
    _problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert PublicReport.objects.count() == 5


@pytest.mark.slow
def test_concurrent_photos_never_pass_the_bound(client, world, settings, db):
    from concurrent.futures import ThreadPoolExecutor

    from media.blobstore import BlobStore
    from server.clock import utcnow
    from server.errors import RuleViolation
    from server.services.hazards import public_reports

    code = send(client, report_body(world)).get_json()["code"]
    most = settings.public_report_max_photos
    for i in range(most - 1):
        assert add_photo(client, code, photo(i + 1)).status_code == 201

    def one(i: int) -> str:
        try:
            public_reports.add_photo(
                code, photo(i), settings=settings, store=BlobStore(db), now=utcnow()
            )
            return "stored"
        except RuleViolation:
            return "refused"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(one, range(most, most + 4)))
    assert outcomes == ["refused"] * 3 + ["stored"]
    assert len(PublicReport.objects.get().photos) == most
