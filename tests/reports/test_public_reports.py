"""Public reports end to end: the form (and the API) → a supervisor verifies → a hazard with
the report's photos as evidence; dismissal; every refusal a problem document."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from server.models.hazard import Source
from server.models.public_report import PublicReport
from server.models.user import User
from server.services.hazards import public_reports
from tests.audit.helpers import actions
from tests.reports.helpers import (
    API,
    CONTACT,
    add_photo,
    code_on,
    make_world,
    photo,
    report_body,
    send,
    send_form,
)


@pytest.fixture
def world(client, auth_headers):
    return make_world(auth_headers)


def test_the_form_fits_a_phone_and_names_a_known_enterprise(client, world):
    page = client.get("/report")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="viewport" content="width=device-width' in text
    assert "安全生产隐患举报" in text and "浦东新区" in text  # the jurisdictions to choose
    gate = client.get(f"/report?enterprise={world['firm'].id}").get_data(as_text=True)
    assert "上海某化工有限公司" in gate and 'name="jurisdiction_id"' not in gate


def test_form_to_verified_hazard(client, world, db, jobs, job_settings):
    fields = report_body(world)
    page = send_form(client, fields, [photo(1), photo(2)])
    assert page.status_code == 201, page.get_data(as_text=True)
    code = code_on(page.get_data(as_text=True))
    status = client.get(f"/report/status?code={code}").get_data(as_text=True)
    assert "待核实" in status
    assert client.get(f"{API}/follow-up/{code}").get_json()["photos"] == 2

    # The supervisor of the jurisdiction sees it, contact included, and verifies it.
    sup = world["headers"]["supervisor"]
    pending = client.get(f"{API}?status=pending", headers=sup).get_json()
    assert [r["contact"] for r in pending] == [CONTACT]
    report = pending[0]
    verified = client.post(
        f"{API}/{report['id']}/verification",
        json={"level": "general", "enterprise_id": str(world["firm"].id)},
        headers=sup,
    )
    assert verified.status_code == 200, verified.get_json()
    assert verified.get_json()["status"] == "verified"
    hazard_id = verified.get_json()["hazard_id"]

    hazard = client.get(f"/api/v1/hazards/{hazard_id}", headers=sup).get_json()
    assert hazard["source"] == Source.PUBLIC_REPORT
    assert hazard["reported_by"] == str(world["supervisor"].id)
    assert hazard["description"] == fields["description"]
    assert hazard["place"] == {"text": "二号车间"}
    assert hazard["photos"] == report["photos"] and len(hazard["photos"]) == 2
    assert hazard["level_confirmed"] is True and hazard["state"] == "found"
    # Its photos are the hazard's evidence, for whoever sees the hazard.
    for sha in hazard["photos"]:
        shown = client.get(f"/api/v1/photos/{sha}", headers=world["headers"]["manager"])
        assert shown.status_code == 200
        assert {link["kind"] for link in shown.get_json()["links"]} == {"hazard"}

    # The reporter sees only that it was verified.
    assert client.get(f"{API}/follow-up/{code}").get_json()["status"] == "verified"
    assert "已查实" in client.get(f"/report/status?code={code}").get_data(as_text=True)

    # A second verification changes nothing and makes no second hazard.
    again = client.post(f"{API}/{report['id']}/verification", json={"level": "major"}, headers=sup)
    assert again.status_code == 200 and again.get_json()["hazard_id"] == hazard_id
    assert db.hazards.count_documents({}) == 1
    assert db.hazards.find_one()["level"] == "general"

    jobs()
    done = actions(db, str(world["J1"].id))
    assert done.count("public_report.submit") == 1
    assert "public_report.verify" in done and "hazard.create" in done
    assert done.count("photo.link") == 2


def test_api_report_dismissed_with_a_reason_the_reporter_never_sees(client, world, db, jobs):
    sent = send(client, report_body(world))
    assert sent.status_code == 201, sent.get_json()
    receipt = sent.get_json()
    assert receipt["status"] == "pending" and receipt["photos"] == 0
    assert receipt["photos_url"] == f"{API}/follow-up/{receipt['code']}/photos"
    assert sent.headers["Cache-Control"] == "no-store"
    report_id = str(PublicReport.objects.get().id)
    sup = world["headers"]["supervisor"]
    dismissed = client.post(
        f"{API}/{report_id}/dismissal", json={"reason": "现场核查未发现所述情况"}, headers=sup
    )
    assert dismissed.status_code == 200
    assert dismissed.get_json()["dismiss_reason"] == "现场核查未发现所述情况"
    follow = client.get(f"{API}/follow-up/{receipt['code'].lower().replace('-', '')}")
    assert follow.get_json() == {
        "status": "dismissed",
        "submitted_at": receipt["submitted_at"],
        "photos": 0,
    }
    late = client.post(f"{API}/{report_id}/verification", json={"level": "general"}, headers=sup)
    assert late.status_code == 409
    assert late.headers["Content-Type"] == "application/problem+json"
    assert db.hazards.count_documents({}) == 0
    jobs()
    assert "public_report.dismiss" in actions(db, str(world["J1"].id))


def test_the_code_is_unguessable_and_stored_only_as_a_hash(client, world, db):
    codes = {
        send(client, report_body(world), address=f"192.0.2.{i}").get_json()["code"]
        for i in range(5)
    }
    assert len(codes) == 5
    assert all(len(c.replace("-", "")) == 16 for c in codes)  # 16 of 32 symbols: 80 bits
    stored = [d["code_hash"] for d in db.public_reports.find()]
    assert not set(stored) & {c.replace("-", "") for c in codes} and all(
        len(h) == 64 for h in stored
    )


def test_a_known_enterprise_gives_the_jurisdiction(client, world):
    sent = send(client, {"enterprise_id": str(world["firm"].id), "description": "配电箱无盖"})
    assert sent.status_code == 201, sent.get_json()
    report = PublicReport.objects.get()
    assert report.jurisdiction_id == world["J1"].id
    assert report.enterprise_name == "上海某化工有限公司"
    # Verified without naming the enterprise again: the report's.
    verified = public_reports.verify(
        world["supervisor"].actor(),
        report.id,
        level="general",
        now=report.submitted_at,
        window=__import__("datetime").timedelta(days=365),
    )
    assert verified.status == "verified"


def test_photos_are_stored_without_any_metadata(client, world, db):
    code = send(client, report_body(world)).get_json()["code"]
    assert add_photo(client, code, photo()).status_code == 201
    sha = PublicReport.objects.get().photos[0]
    blob = db.photos.find_one({"_id": sha})
    assert blob is not None
    from media.blobstore import BlobStore

    stored = Image.open(io.BytesIO(BlobStore(db).read_all(sha)))
    assert not stored.getexif() and "exif" not in stored.info
    context = db.photo_contexts.find_one({"photo": sha})
    for camera_fact in ("gps", "exif", "make", "model", "filename", "captured_at"):
        assert not context.get(camera_fact), camera_fact
    assert User.objects(id=context["uploader_id"]).first() is None  # nobody's id


def test_without_metadata_turns_the_photo_upright():
    from media import images
    from tests.media.helpers import exif_block, jpeg, marked_image

    rotated = jpeg(marked_image((640, 480)), exif=exif_block(orientation=6))
    out = images.without_metadata(
        rotated, max_pixels=50_000_000, draft_px=1600, long_side=3200, quality=88
    )
    image = Image.open(io.BytesIO(out))
    assert image.size == (480, 640) and not image.getexif()
    assert image.getpixel((image.width - 10, 10))[0] > 200  # the red corner, turned
