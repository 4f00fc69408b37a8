"""Close-out (销号) needs a re-inspection at the hazard's place: refused with every reason
without one (no record, no photo, a fix too far or too coarse, no or a bad label, a photo whose
camera was elsewhere), accepted by GPS within the radius or by the space's QR label; a major
also on the firm's written application, approved by a supervisor; per role; the firm's "after"
photos link to the hazard as `rectification` evidence."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from media import links
from server.errors import NotFound
from server.services.hazards import lifecycle
from tests.hazards.helpers import PHOTO, make_firm, transition

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
HERE = {"longitude": 121.4737, "latitude": 31.2304}
#: About 200 m north of HERE.
AWAY = {"longitude": 121.4737, "latitude": 31.2322}
AFTER = "cd" * 32
PLAN = {
    "measures": "增设通风设备并设专人监护",
    "funds": "5万元",
    "deadline": "2026-12-20",
    "responsible_person": "张三",
    "contingency": "现场应急救援预案",
}


@pytest.fixture
def world(client, auth_headers, db):
    found = make_firm(client, auth_headers)
    db["enterprises"].update_one({"_id": found["firm"].id}, {"$set": {"has_confined_spaces": True}})
    manager = auth_headers(found["manager"])
    space = client.post(
        "/api/v1/spaces",
        json={
            "enterprise_id": str(found["firm"].id),
            "code": "YX-001",
            "name": "1号污水井",
            "type": "underground",
        },
        headers=manager,
    ).get_json()
    client.post(f"/api/v1/spaces/{space['id']}/label", headers=manager)
    found["label"] = client.get(f"/api/v1/spaces/{space['id']}/label", headers=manager).json["url"]
    found["space_id"] = space["id"]
    found["headers"] = {
        who: auth_headers(found[who]) for who in ("inspector", "supervisor", "manager")
    }
    return found


def _hazard(client, world, level="general", place=None) -> str:
    body = {
        "enterprise_id": str(world["firm"].id),
        "description": "有限空间作业未设监护人",
        "level": level,
        "place": place or {"location": {**HERE, "accuracy_m": 5}, "space_id": world["space_id"]},
    }
    made = client.post("/api/v1/hazards", json=body, headers=world["headers"]["inspector"])
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def _to_reinspection(client, world, hazard, *, major=False):
    for who, action, body in (
        ("inspector", "issue", {"deadline": "2026-12-31"}),
        ("manager", "acknowledge", {"plan": PLAN} if major else {}),
        ("manager", "report_rectified", {"photos": [AFTER], "note": "已整改"}),
        ("inspector", "start_reinspection", {}),
    ):
        done = transition(client, world, who, hazard, action, **body)
        assert done.status_code == 200, (action, done.get_json())


def test_a_close_without_a_reinspection_at_the_place_is_refused_with_every_reason(client, world):
    hazard = _hazard(client, world)
    _to_reinspection(client, world, hazard)
    bare = transition(client, world, "inspector", hazard, "close", note="已整改合格")
    assert bare.status_code == 422
    assert bare.mimetype == "application/problem+json"
    assert bare.get_json()["reasons"] == [
        {"code": "REINSPECTION_MISSING", "detail": "no re-inspection record"}
    ]
    far = transition(
        client,
        world,
        "inspector",
        hazard,
        "close",
        note="已整改合格",
        reinspection={"location": {**AWAY, "accuracy_m": 8}},
    )
    assert far.status_code == 422
    assert far.get_json()["reasons"] == [
        {"code": "REINSPECTION_PHOTO_MISSING", "detail": "no photo of the visit"},
        {"code": "NOT_AT_PLACE", "distance_m": 200.2, "radius_m": 100.0},
        {"code": "LABEL_MISSING", "detail": "the record scanned no label"},
    ]
    forged = world["label"][:-4] + ("AAAA" if not world["label"].endswith("AAAA") else "BBBB")
    coarse = transition(
        client,
        world,
        "inspector",
        hazard,
        "close",
        note="已整改合格",
        reinspection={
            "location": {**HERE, "accuracy_m": 500},
            "label": forged,
            "photos": [PHOTO],
        },
    )
    assert coarse.get_json()["reasons"] == [
        {"code": "FIX_TOO_COARSE", "accuracy_m": 500.0, "limit_m": 50.0},
        {"code": "LABEL_INVALID", "error": "LABEL_FORGED"},
    ]
    read = client.get(f"/api/v1/hazards/{hazard}", headers=world["headers"]["inspector"])
    assert read.get_json()["state"] == "reinspection"
    assert read.get_json().get("reinspection") is None


def test_closed_at_the_place_by_gps_within_the_radius(client, world):
    hazard = _hazard(client, world)
    _to_reinspection(client, world, hazard)
    near = {"longitude": 121.4737, "latitude": 31.2312}  # about 89 m
    closed = transition(
        client,
        world,
        "inspector",
        hazard,
        "close",
        note="已整改合格",
        reinspection={"location": {**near, "accuracy_m": 10}, "photos": [PHOTO]},
    )
    assert closed.status_code == 200, closed.get_json()
    body = closed.get_json()
    assert body["state"] == "closed"
    assert body["reinspection"]["by"] == str(world["inspector"].id)
    assert body["reinspection"]["role"] == "inspector"
    assert body["reinspection"]["photos"] == [PHOTO]


def test_closed_at_the_place_by_the_spaces_label_without_a_fix(client, world):
    hazard = _hazard(client, world, place={"space_id": world["space_id"]})
    _to_reinspection(client, world, hazard)
    closed = transition(
        client,
        world,
        "inspector",
        hazard,
        "close",
        note="已整改合格",
        reinspection={"label": world["label"], "photos": [PHOTO]},
    )
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["state"] == "closed"


def test_a_hazard_with_no_place_cannot_be_closed_on_paper(client, world):
    hazard = _hazard(client, world, place={"text": "二号车间"})
    _to_reinspection(client, world, hazard)
    refused = transition(
        client,
        world,
        "inspector",
        hazard,
        "close",
        note="已整改合格",
        reinspection={"location": HERE, "photos": [PHOTO]},
    )
    assert refused.get_json()["reasons"] == [
        {"code": "PLACE_UNKNOWN", "detail": "the hazard has no place to check"}
    ]


def test_a_photo_whose_camera_was_elsewhere_is_not_evidence_of_the_visit(client, world, db):
    hazard = _hazard(client, world)
    _to_reinspection(client, world, hazard)
    db["photo_contexts"].insert_one(
        {
            "_id": "ctx-far",
            "photo": PHOTO,
            "uploader_id": world["inspector"].id,
            "target_kind": "hazard",
            "target_id": hazard,
            "gps": {"longitude": AWAY["longitude"], "latitude": AWAY["latitude"]},
            "received_at": NOW,
            "review": "x",
        }
    )
    refused = transition(
        client,
        world,
        "inspector",
        hazard,
        "close",
        note="已整改合格",
        reinspection={"location": HERE, "label": world["label"], "photos": [PHOTO]},
    )
    assert refused.get_json()["reasons"] == [
        {"code": "PHOTO_NOT_AT_PLACE", "photo": PHOTO, "distance_m": 200.2, "radius_m": 100.0}
    ]


def test_a_major_closes_on_the_firms_application_approved_by_a_supervisor(client, world):
    hazard = _hazard(client, world, level="major")
    _to_reinspection(client, world, hazard, major=True)
    at_place = {"location": HERE, "photos": [PHOTO], "note": "现场复查，已整改"}
    assert transition(client, world, "manager", hazard, "record_reinspection").status_code == 403
    recorded = transition(
        client, world, "inspector", hazard, "record_reinspection", reinspection=at_place
    )
    assert recorded.status_code == 200, recorded.get_json()
    assert recorded.get_json()["state"] == "reinspection"
    by_inspector = transition(client, world, "inspector", hazard, "close", note="合格")
    assert by_inspector.get_json()["reasons"] == [
        {
            "code": "MAJOR_BY_SUPERVISOR_ON_APPLICATION",
            "detail": "a major hazard is closed by a supervisor",
        }
    ]
    unasked = transition(client, world, "supervisor", hazard, "close", note="合格")
    assert unasked.get_json()["reasons"][0]["detail"] == (
        "a major hazard is closed on the firm's written application"
    )
    assert transition(client, world, "manager", hazard, "close", note="合格").status_code == 403
    applied = transition(client, world, "manager", hazard, "apply_closeout", application="销号申请")
    assert applied.status_code == 200
    assert applied.get_json()["closeout_application"]["by"] == str(world["manager"].id)
    closed = transition(client, world, "supervisor", hazard, "close", note="同意销号")
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["state"] == "closed"
    assert closed.get_json()["reinspection"]["by"] == str(world["inspector"].id)


def test_a_major_without_a_visit_is_refused_every_reason_at_once(client, world):
    hazard = _hazard(client, world, level="major")
    _to_reinspection(client, world, hazard, major=True)
    refused = transition(client, world, "supervisor", hazard, "close", note="同意销号")
    assert [r["code"] for r in refused.get_json()["reasons"]] == [
        "MAJOR_BY_SUPERVISOR_ON_APPLICATION",
        "REINSPECTION_MISSING",
    ]


def test_only_those_who_see_the_hazard_reinspect_it(client, world, auth_headers):
    hazard = _hazard(client, world)
    _to_reinspection(client, world, hazard)
    other = make_firm(client, auth_headers)
    with pytest.raises(NotFound):
        lifecycle.take(
            other["inspector"].actor(),
            hazard,
            "record_reinspection",
            {"reinspection": {"location": HERE, "photos": [PHOTO]}},
            now=NOW,
        )


def test_the_firms_after_photos_link_as_rectification_evidence(client, world, auth_headers):
    hazard = _hazard(client, world)
    target = links.registry.resolve(world["manager"].actor(), "rectification", hazard)
    assert target is not None and target.enterprise_id == world["firm"].id
    other = make_firm(client, auth_headers)
    assert links.registry.resolve(other["manager"].actor(), "rectification", hazard) is None
