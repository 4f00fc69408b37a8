"""The review site's hazard and order pages: the list with its filters and scope, one hazard's
page with the forms the lifecycle table allows the actor now, decisions taken from those forms
through the lifecycle use case (audited as the API's are), and refusals shown with reasons."""

from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta

import pytest

from server.actor import Role
from server.clock import utcnow
from server.models.issuing_body import IssuingBody
from server.models.order import Order
from server.services.audit import chain
from server.services.hazards.timings import CHINA
from tests.factories import JurisdictionFactory, regulator
from tests.hazards.helpers import make_firm, step
from tests.web.pages import hidden, log_in


@pytest.fixture
def world(client, auth_headers):
    found = make_firm(client, auth_headers)
    found["headers"] = {w: auth_headers(found[w]) for w in ("inspector", "supervisor", "manager")}
    return found


def _hazard(client, world, description="有限空间作业未设监护人", level="major") -> str:
    body = {"enterprise_id": str(world["firm"].id), "description": description, "level": level}
    made = client.post("/api/v1/hazards", json=body, headers=world["headers"]["inspector"])
    assert made.status_code == 201, made.get_json()
    return made.get_json()["id"]


def _forms(html: str) -> list[str]:
    return re.findall(r'id="take-([a-z_]+)"', html)


def _take(client, hazard, page: str, action: str, **fields):
    version = re.search(rf'id="take-{action}".*?name="version" value="(\d+)"', page, re.S)
    return client.post(
        f"/review/hazards/{hazard}/transitions",
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "action": action,
            "version": version.group(1),
            **fields,
        },
    )


def test_the_list_holds_the_jurisdictions_hazards_and_filters_them(client, world, auth_headers, db):
    major = _hazard(client, world, "未设监护人", "major")
    general = _hazard(client, world, "警示标识缺失", "general")
    other = make_firm(client, auth_headers)  # another jurisdiction, another firm
    log_in(client, world["supervisor"], "/review/hazards")
    page = client.get("/review/hazards")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert major in html and general in html and "共 2 条" in html
    assert str(other["firm"].id) not in html  # not even offered as a filter
    majors = client.get("/review/hazards?level=major").get_data(as_text=True)
    assert major in majors and general not in majors
    assert "共 0 条" in client.get("/review/hazards?listed=true").get_data(as_text=True)
    assert "共 0 条" in client.get("/review/hazards?overdue=true").get_data(as_text=True)
    found = client.get(f"/review/hazards?enterprise_id={world['firm'].id}&state=found")
    assert "共 2 条" in found.get_data(as_text=True)
    # The general one under an order past its deadline (the timer has not marked it yet),
    # the major one listed and found by a confined-space checklist.
    past = utcnow() - timedelta(days=1)
    db["hazards"].update_one({"_id": general}, {"$set": {"state": "issued", "deadline": past}})
    db["hazards"].update_one(
        {"_id": major}, {"$set": {"listing": "listed", "checklist_code": "CS"}}
    )
    for query, shown, hidden_one in (
        ("overdue=true", general, major),
        ("overdue=true&state=issued", general, major),
        ("listed=true", major, general),
        ("listed=false", general, major),
        ("campaign=CS", major, general),
    ):
        html = client.get(f"/review/hazards?{query}").get_data(as_text=True)
        assert shown in html and hidden_one not in html, query
    assert "共 0 条" in client.get("/review/hazards?overdue=true&state=found").get_data(
        as_text=True
    )


def test_a_bad_filter_is_refused_with_a_page(client, world):
    log_in(client, world["supervisor"], "/review/hazards")
    refused = client.get("/review/hazards?level=huge&enterprise_id=xyz")
    assert refused.status_code == 422
    assert refused.mimetype == "text/html"
    assert "请求的内容有误" in refused.get_data(as_text=True)


def test_a_supervisor_confirms_lists_and_escalates_from_the_forms_the_table_allows(
    client, world, jobs, db
):
    hazard = _hazard(client, world)  # an inspector's major: to be confirmed
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert "待确认" in page
    # Found, unconfirmed: listing waits for the confirmation, escalation for an order.
    assert _forms(page) == ["issue", "withdraw", "confirm_level", "set_level"]
    assert _take(client, hazard, page, "confirm_level").status_code == 303
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert _forms(page) == ["issue", "withdraw", "set_level", "list"]
    assert _take(client, hazard, page, "list").status_code == 303
    page = client.get(f"/review/hazards/{hazard}?lang=en").get_data(as_text=True)
    assert 'id="listing">Listed<' in page
    # Listed: no second listing, and delisting waits for the close-out (销号).
    assert _forms(page) == ["issue", "withdraw", "set_level"]
    # The timeline names each decision; the audit log has them as the API's would be.
    assert page.count("<td>Confirm the level</td>") == 1 and "<td>List</td>" in page
    jobs()
    actions = [e["action"] for e in db[chain.EVENTS].find({"object.id": hazard}).sort("n", 1)]
    assert actions[-2:] == ["hazard.confirm_level", "hazard.list"]


def test_a_stale_form_and_a_missing_reason_are_shown_beside_the_forms(client, world):
    hazard = _hazard(client, world)
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    missing = _take(client, hazard, page, "set_level", level="general")
    assert missing.status_code == 422
    assert 'id="refusal"' in missing.get_data(as_text=True)
    assert "REQUIRED (reason)" in missing.get_data(as_text=True)
    assert _take(client, hazard, page, "confirm_level").status_code == 303
    stale = _take(client, hazard, page, "set_level", level="general", reason="误判")
    assert stale.status_code == 409
    assert "changed since version 1" in stale.get_data(as_text=True)
    # Without the form's CSRF token nothing is taken.
    forged = client.post(
        f"/review/hazards/{hazard}/transitions",
        data={"action": "withdraw", "version": "2", "reason": "x"},
    )
    assert forged.status_code == 403
    assert 'id="state">已发现<' in client.get(f"/review/hazards/{hazard}").get_data(as_text=True)


def test_an_extension_is_granted_from_the_page_and_a_backward_deadline_refused(client, world):
    hazard = _hazard(client, world, level="general")
    today = utcnow().astimezone(CHINA).date()
    step(client, world, "inspector", hazard, "issue", deadline=str(today + timedelta(5)))
    step(client, world, "manager", hazard, "acknowledge")
    step(
        client,
        world,
        "manager",
        hazard,
        "request_extension",
        reason="设备到货延迟",
        deadline=str(today + timedelta(20)),
    )
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert {"grant_extension", "refuse_extension", "escalate"} <= set(_forms(page))
    back = _take(client, hazard, page, "grant_extension", deadline=str(today + timedelta(2)))
    assert back.status_code == 422
    assert "LATER_DEADLINE" in back.get_data(as_text=True)
    later = str(today + timedelta(15))
    assert _take(client, hazard, page, "grant_extension", deadline=later).status_code == 303
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert 'id="state">整改中<' in page and "同意延期" in page
    assert later in page  # the new deadline, in the facts


def test_an_inspector_gets_their_own_forms_and_no_case_file(client, world):
    hazard = _hazard(client, world, level="general")
    log_in(client, world["inspector"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    # `rectify_on_site` needs photos: taken on the phone, not offered here.
    assert _forms(page) == ["issue"]
    assert 'id="casefile"' not in page
    assert client.get(f"/review/hazards/{hazard}/casefile.pdf").status_code == 403


def test_another_jurisdictions_supervisor_gets_not_found(client, world):
    hazard = _hazard(client, world)
    stranger = regulator(Role.SUPERVISOR, JurisdictionFactory())
    log_in(client, stranger, f"/review/hazards/{hazard}")
    for url in (f"/review/hazards/{hazard}", f"/review/hazards/{hazard}/casefile.pdf"):
        refused = client.get(url)
        assert refused.status_code == 404, url
        assert refused.mimetype == "text/html"
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert 'id="take-' not in page


def test_the_hazard_page_links_its_order_and_the_order_page_its_hazards(client, world):
    hazard = _hazard(client, world, level="general")
    body = IssuingBody(
        name="应急管理局",
        jurisdiction_id=world["jurisdiction"].id,
        number_format="应急责改〔{year}〕第{n}号",
        reconsideration_body="人民政府",
        court="人民法院",
    ).save()
    now = utcnow()
    order = Order(
        id=str(uuid.uuid4()),
        state="issued",
        number="应急责改〔2026〕第7号",
        issuing_body_id=body.id,
        enterprise_id=world["firm"].id,
        jurisdiction_id=world["jurisdiction"].id,
        inspection_id=str(uuid.uuid4()),
        inspector_id=world["inspector"].id,
        co_inspector_id=world["supervisor"].id,
        items=[
            {
                "hazard_id": hazard,
                "description": "吊篮未设安全绳",
                "measures": "增设",
                "term_days": 5,
            }
        ],
        hazard_ids=[hazard],
        check_token=secrets.token_urlsafe(18),
        requested_by=world["inspector"].id,
        requested_at=now,
        issued_at=now,
    ).save()
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert f'href="/review/orders/{order.id}">应急责改〔2026〕第7号</a>' in page
    shown = client.get(f"/review/orders/{order.id}").get_data(as_text=True)
    assert "应急责改〔2026〕第7号" in shown and f'href="/review/hazards/{hazard}"' in shown
    assert 'id="order-pdf"' not in shown  # not rendered yet
    assert client.get(f"/review/orders/{order.id}/pdf").status_code == 404
    # Nothing re-inspected yet: the opinion is refused with a page, as the API's 422.
    assert client.get(f"/review/orders/{order.id}/reinspection-opinion.pdf").status_code == 422
