"""Case files for an auditor, read back with poppler: a hazard's names its decisions, its photo
(the review copy embedded, the watermark lines printed) and every audit event of it with its
chain number and hash, and says the range verifies — until an event is changed in the
database; an inspection's names its answers, the hazards it found and its events."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from server.clock import utcnow
from server.models.photo import PhotoContext
from server.services.audit import chain, heads, signing
from tests.hazards.helpers import (
    GENERAL,
    MAJOR_TO_CONFIRM,
    failing_answers,
    make_firm,
    step,
    submit_inspection,
)
from tests.media import helpers as media
from tests.web.pages import log_in

#: The case files made here are kept for a reader (the README names the folder).
KEPT = Path(__file__).resolve().parents[2] / ".artifacts" / "casefiles"


@pytest.fixture
def world(client, auth_headers, job_settings):
    found = make_firm(client, auth_headers)
    found["headers"] = {w: auth_headers(found[w]) for w in ("inspector", "supervisor", "manager")}
    return found


def _text(pdf: bytes, tmp_path, name: str = "casefile.pdf", keep: str | None = None) -> str:
    path = tmp_path / name
    path.write_bytes(pdf)
    if keep:
        KEPT.mkdir(parents=True, exist_ok=True)
        (KEPT / keep).write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def _images(tmp_path, name: str = "casefile.pdf") -> int:
    listing = subprocess.run(
        ["pdfimages", "-list", str(tmp_path / name)], check=True, capture_output=True, text=True
    ).stdout
    return len(listing.splitlines()) - 2  # two header lines


def _sign(db, settings) -> None:
    heads.sign_heads(db, signing.private_key(settings.audit_signing_key), now=utcnow())


def test_a_hazards_case_file_holds_its_photo_decisions_and_chain_positions(
    client, world, jobs, db, settings, tmp_path
):
    photo = media.jpeg()
    sha = media.sha256(photo)
    made = client.post(
        "/api/v1/hazards",
        json={
            "enterprise_id": str(world["firm"].id),
            "description": "有限空间作业未设监护人",
            "level": "major",
            "photos": [sha],
        },
        headers=world["headers"]["inspector"],
    )
    hazard = made.get_json()["id"]
    meta = media.photo_metadata(photo, link_id=hazard, kind="hazard")
    assert media.upload(client, world["headers"]["inspector"], photo, meta=meta).status_code == 204
    step(client, world, "supervisor", hazard, "confirm_level")
    step(client, world, "supervisor", hazard, "list")
    jobs()
    _sign(db, settings)
    url = f"/api/v1/hazards/{hazard}/casefile.pdf"
    got = client.get(url, headers=world["headers"]["supervisor"])
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    text = _text(got.data, tmp_path, keep="hazard.pdf")
    assert "隐患案卷" in text and "有限空间作业未设监护人" in text
    assert "确认等级" in text and "挂牌督办" in text and "重大事故隐患" in text
    # The photo: its review copy in the PDF, its watermark lines and hash printed.
    assert _images(tmp_path) == 1
    for line in PhotoContext.objects.get(photo=sha).watermark:
        assert line in text.replace("\n", "")
    assert sha in text
    # Every event of the hazard (and its photo's arrival) at its place in the chain.
    chain_name = str(world["jurisdiction"].id)
    events = list(db[chain.EVENTS].find({"chain": chain_name, "object.id": hazard}))
    assert [e["action"] for e in events] == [
        "hazard.create",
        "hazard.confirm_level",
        "hazard.list",
    ]
    for e in events:
        assert f"n={e['n']}" in text and e["hash"] in text
    assert "photo.arrive" in text
    assert "校验通过" in text and "1 signed heads checked" in text

    # The hazard page serves the same review copy on the site's session, and nothing else.
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert f"/review/photos/{sha}/review?context=" in page
    copy = client.get(f"/review/photos/{sha}/review")
    assert copy.mimetype == "image/jpeg" and copy.data[:2] == b"\xff\xd8"
    assert client.get(f"/review/photos/{'cd' * 32}/review").status_code == 404

    # An event altered in the database: the case file says where the chain breaks.
    db[chain.EVENTS].update_one({"_id": events[1]["_id"]}, {"$set": {"action": "hazard.close"}})
    broken = _text(client.get(url, headers=world["headers"]["supervisor"]).data, tmp_path)
    assert "校验未通过" in broken
    assert f"PROBLEM event n={events[1]['n']}" in broken.replace("\n", " ")


def test_an_inspections_case_file_holds_answers_hazards_and_events(
    client, world, jobs, db, settings, published, tmp_path
):
    inspection = submit_inspection(world, failing_answers(MAJOR_TO_CONFIRM, GENERAL))
    jobs()
    _sign(db, settings)
    got = client.get(
        f"/api/v1/inspections/{inspection}/casefile.pdf", headers=world["headers"]["supervisor"]
    )
    assert got.status_code == 200, got.get_json()
    text = _text(got.data, tmp_path, keep="inspection.pdf")
    assert "检查案卷" in text and inspection in text.replace("\n", "")
    assert f"{MAJOR_TO_CONFIRM} " in text and f"{GENERAL} " in text and "不合格" in text
    # The answers' photo was never uploaded: named by its hash, not shown.
    assert "服务器未收到该照片" in text and _images(tmp_path) == 0
    hazards = list(db["hazards"].find({"inspection_ids": inspection}))
    assert len(hazards) == 2
    for h in hazards:
        assert h["_id"] in text.replace("\n", "")
    events = list(db[chain.EVENTS].find({"object.id": {"$in": [inspection]}}))
    assert events
    for e in events:
        assert f"n={e['n']}" in text and e["hash"] in text
    assert "校验通过" in text


def test_the_site_links_the_case_file_and_serves_it_on_the_session(client, world, tmp_path):
    made = client.post(
        "/api/v1/hazards",
        json={
            "enterprise_id": str(world["firm"].id),
            "description": "吊篮未设安全绳",
            "level": "general",
        },
        headers=world["headers"]["inspector"],
    )
    hazard = made.get_json()["id"]
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert f'href="/review/hazards/{hazard}/casefile.pdf"' in page
    pdf = client.get(f"/review/hazards/{hazard}/casefile.pdf")
    assert pdf.mimetype == "application/pdf"
    assert "吊篮未设安全绳" in _text(pdf.data, tmp_path)
