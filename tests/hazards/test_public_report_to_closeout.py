"""End to end: a public report goes form → supervisor verifies (assigning an inspector
of the jurisdiction) → hazard → order → service → rectification with the firm's after photos →
re-inspection at the place → closed, in one test; the enterprise never sees who reported."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime

import pytest

from server.services.hazards.order_document import chinese_date
from tests.hazards.helpers import failing_answers, make_issuing_world, step, submit_inspection
from tests.reports.helpers import CONTACT, code_on, photo, send_form
from tests.sync.helpers import phone_for

HERE = {"longitude": 121.4737, "latitude": 31.2304}
NEAR = {"longitude": 121.4737, "latitude": 31.2310}  # about 67 m north
AFTER, VISIT = "cd" * 32, "ef" * 32
API = "/api/v1/public-reports"


@pytest.fixture
def world(client, auth_headers, published, job_settings, db):
    found = make_issuing_world(client, auth_headers)
    db["enterprises"].update_one(
        {"_id": found["firm"].id},
        {
            "$set": {
                "location": {"type": "Point", "coordinates": [HERE["longitude"], HERE["latitude"]]}
            }
        },
    )
    found["headers"] = {
        who: auth_headers(found[who])
        for who in ("inspector", "co_inspector", "supervisor", "manager")
    }
    return found


def _report(client, world) -> tuple[str, str]:
    fields = {
        "jurisdiction_id": str(world["jurisdiction"].id),
        "enterprise_name": world["firm"].name,
        "enterprise_address": "浦东新区某路1号",
        "place": "二号车间",
        "description": "消防通道被货物堵塞，灭火器过期",
        "contact": CONTACT,
    }
    page = send_form(client, fields, [photo(1)])
    assert page.status_code == 201, page.get_data(as_text=True)
    sup = world["headers"]["supervisor"]
    [pending] = client.get(f"{API}?status=pending", headers=sup).get_json()
    assert pending["contact"] == CONTACT
    return pending["id"], code_on(page.get_data(as_text=True))


def _verify(client, world, report_id, **extra):
    return client.post(
        f"{API}/{report_id}/verification",
        json={"level": "general", "enterprise_id": str(world["firm"].id), **extra},
        headers=world["headers"]["supervisor"],
    )


def test_a_public_report_is_ordered_rectified_reinspected_and_closed(
    client, world, auth_headers, jobs, tmp_path
):
    report_id, code = _report(client, world)
    verified = _verify(client, world, report_id, inspector_id=str(world["inspector"].id))
    assert verified.status_code == 200, verified.get_json()
    hazard_id = verified.get_json()["hazard_id"]
    url = f"/api/v1/hazards/{hazard_id}"
    # Assigned: the inspector sees it; another inspector of the jurisdiction does not.
    assert client.get(url, headers=world["headers"]["inspector"]).status_code == 200
    assert client.get(url, headers=world["headers"]["co_inspector"]).status_code == 404

    # The visit: an inspection of the firm, and the order for the assigned hazard.
    visit = submit_inspection(world, failing_answers())
    body = {
        "inspection_id": visit,
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"hazard_id": hazard_id, "term_days": 10, "measures": "清理通道，更换灭火器"}],
    }
    issued = client.post("/api/v1/orders", json=body, headers=world["headers"]["inspector"])
    assert issued.status_code == 202, issued.get_json()
    order_url = f"/api/v1/orders/{issued.get_json()['id']}"
    jobs()
    manager = world["headers"]["manager"]
    order = client.get(order_url, headers=manager).get_json()
    assert order["number"] == "（区）应急责改〔2026〕第1号" and order["pdf"]["sha256"]
    assert order["items"][0]["description"] == "消防通道被货物堵塞，灭火器过期"

    served = client.post(f"{order_url}/service", json={"kind": "acknowledged"}, headers=manager)
    assert served.status_code == 200, served.get_json()
    hazard = client.get(url, headers=manager).get_json()
    assert hazard["state"] == "issued" and hazard["deadline"]
    step(client, world, "manager", hazard_id, "acknowledge")
    step(client, world, "manager", hazard_id, "report_rectified", photos=[AFTER], note="已整改")
    step(client, world, "inspector", hazard_id, "start_reinspection")
    early = client.get(f"{order_url}/reinspection-opinion.pdf", headers=manager)
    assert early.status_code == 422
    assert early.get_json()["reasons"] == [{"code": "NOT_REINSPECTED"}]
    closed = step(
        client,
        world,
        "inspector",
        hazard_id,
        "close",
        note="复查合格",
        reinspection={"location": {**NEAR, "accuracy_m": 10}, "photos": [VISIT]},
    )
    assert closed["state"] == "closed"
    assert closed["reinspection"]["by"] == str(world["inspector"].id)
    opinion = client.get(f"{order_url}/reinspection-opinion.pdf", headers=manager)
    assert opinion.status_code == 200 and opinion.mimetype == "application/pdf"
    path = tmp_path / "opinion.pdf"
    path.write_bytes(opinion.data)
    lines = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    words = "".join(lines.split())  # lines wrap anywhere in Chinese
    issued_on = chinese_date(datetime.fromisoformat(order["issued_at"]))
    closed_on = chinese_date(datetime.fromisoformat(closed["reinspection"]["at"]))
    for wanted in (
        "整改复查意见书",
        world["firm"].name,
        f"本机关于{issued_on}作出《责令限期整改指令书》（（区）应急责改〔2026〕第1号）",
        "1.消防通道被货物堵塞，灭火器过期",
        f"已整改完毕，经复查合格，予以销号（复查日期：{closed_on}）",
        "李明",
        "执法证号：31010034",
    ):
        assert wanted in words, wanted

    # Nothing the enterprise reads names the reporter, their report or its follow-up code.
    jobs()
    phone = phone_for(client, world["manager"], auth_headers, device_id="manager-phone")
    phone.pull()
    seen = [
        client.get(url, headers=manager).get_json(),
        client.get(order_url, headers=manager).get_json(),
        phone.server,
    ]
    text = json.dumps(seen, ensure_ascii=False, default=str)
    for secret in (CONTACT, "13800138000", report_id, code):
        assert secret not in text
    assert client.get(f"{API}/{report_id}", headers=manager).status_code == 404


def test_only_an_inspector_of_the_jurisdiction_is_assigned(client, world, auth_headers):
    from server.actor import Role
    from tests.factories import JurisdictionFactory, regulator

    report_id, _code = _report(client, world)
    elsewhere = regulator(Role.INSPECTOR, JurisdictionFactory())
    for who in (elsewhere, world["supervisor"]):
        refused = _verify(client, world, report_id, inspector_id=str(who.id))
        assert refused.status_code == 404, refused.get_json()
    # Unassigned, no inspector sees it, so none could order it.
    hazard_id = _verify(client, world, report_id).get_json()["hazard_id"]
    url = f"/api/v1/hazards/{hazard_id}"
    assert client.get(url, headers=world["headers"]["inspector"]).status_code == 404
    visit = submit_inspection(world, failing_answers())
    body = {
        "inspection_id": visit,
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"hazard_id": hazard_id, "term_days": 10, "measures": "清理通道"}],
    }
    refused = client.post("/api/v1/orders", json=body, headers=world["headers"]["inspector"])
    assert refused.status_code == 404
