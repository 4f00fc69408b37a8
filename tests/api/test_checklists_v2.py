"""Publishing the second editions while phones keep the first: a draft on v1 pushed after v2 is
published is judged by v1, a new one by v2, a pull brings the new versions with their
changelogs; an enterprise's regime change is audited and never changes how its earlier
inspections are judged."""

from __future__ import annotations

import pytest

from checklists.loader import load_editions
from checklists.versions import EditionConflict, publish, publish_editions
from server.actor import Role
from server.clock import utcnow
from tests.audit.helpers import stored
from tests.factories import EnterpriseFactory, JurisdictionFactory, UserFactory, regulator
from tests.sync.helpers import phone_for


@pytest.fixture
def first_editions_only(db):
    for history in load_editions().values():
        publish(history[0], now=utcnow())


@pytest.fixture
def world(client, auth_headers, db):
    jurisdiction = JurisdictionFactory()
    firm = EnterpriseFactory(
        jurisdiction_id=jurisdiction.id, industry_code="C34", regime="industrial"
    )
    inspector = regulator(Role.INSPECTOR, jurisdiction)
    phone = phone_for(client, inspector, auth_headers, device_id="phone-v2-0001")
    return {"jurisdiction": jurisdiction, "firm": firm, "phone": phone}


def _answers(phone, inspection_id):
    return phone.server["inspections"][inspection_id]["answers"]


def test_a_v1_draft_pushed_after_v2_is_judged_by_v1_and_a_new_one_by_v2(
    world, first_editions_only, db
):
    phone, firm = world["phone"], world["firm"]
    phone.pull()
    assert {c["id"] for c in phone.server["checklist_versions"].values()} >= {"CS:1"}
    # Started offline on v1: CS-08 at 40 min was a fail under v1's rule.
    old = phone.create_inspection(
        enterprise_id=str(firm.id),
        checklist_code="CS",
        checklist_version=1,
        answers={"CS-08": {"value": 40}},
    )
    published = publish_editions(load_editions(), now=utcnow())
    assert {p.version for p in published} == {2}
    assert [r["status"] for r in phone.push()] == ["applied"]
    phone.pull()
    assert _answers(phone, old)["CS-08"]["outcome"] == "fail"
    # A pull after publication brings the new versions and their changelogs.
    cs2 = phone.server["checklist_versions"]["CS:2"]
    assert cs2["version"] == 2 and cs2["url"] == "/api/v1/checklists/CS/versions/2"
    assert any("CS-04" in entry["items"] for entry in cs2["changelog"])
    assert {"zh-CN", "en"} <= set(cs2["changelog"][0]["what"])
    # A new inspection gets v2: at a 工贸 firm CS-08 is advice, so 40 min only warns.
    new = phone.create_inspection(
        enterprise_id=str(firm.id),
        checklist_code="CS",
        checklist_version=2,
        answers={"CS-08": {"value": 40}},
    )
    phone.push()
    phone.pull()
    assert _answers(phone, new)["CS-08"]["outcome"] == "warn"
    assert phone.server["inspections"][new]["judged_under"]["regime"] == "industrial"
    # The v1 draft is still edited and judged on v1 (README: "Drafts on an older version").
    phone.edit(old, answers={"CS-08": {"value": 40}, "CS-14": {"value": "no"}})
    phone.push()
    phone.pull()
    assert _answers(phone, old)["CS-14"] == {
        "value": "no",
        "note": None,
        "photos": [],
        "outcome": "fail",
        "severity": "major",
    }


def test_the_changelog_is_in_the_download_in_both_languages(client, auth_headers, published):
    headers = auth_headers(
        UserFactory(role=Role.INSPECTOR.value, jurisdiction_id=JurisdictionFactory().id)
    )
    zh = client.get("/api/v1/checklists/HW/versions/2", headers=headers).get_json()
    en = client.get(
        "/api/v1/checklists/HW/versions/2", headers={**headers, "Accept-Language": "en"}
    ).get_json()
    assert zh["changelog"][0]["items"] == ["HW-08"] and "爆炸下限" in zh["changelog"][0]["what"]
    assert "LEL" in en["changelog"][0]["what"]
    hw08 = next(i for i in en["items"] if i["code"] == "HW-08")
    assert hw08["answer"] == "gas_reading" and hw08["pass_rule"]["lel"]["max"] == 0.5
    assert hw08["continues"] == ["HW-08"] and hw08["regimes"]["industrial"]["advisory"] is True
    assert en["gases"]["CH4"]["lel"] == 5.0
    v1 = client.get("/api/v1/checklists/HW/versions/1", headers=headers).get_json()
    assert v1["changelog"] == [] and v1["items"][0]["verification"]


def test_a_published_edition_is_immutable(published):
    edited = load_editions()["CS"][1]
    from dataclasses import replace

    with pytest.raises(EditionConflict, match="CS version 2 is published with other content"):
        publish(replace(edited, items=edited.items[:-1]), now=utcnow())


def test_admins_read_the_unsettled_facts(client, auth_headers, db):
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    facts = client.get("/api/v1/checklists/review", headers=admin).get_json()
    assert any(f["where"] == "CS-04" and f["field"] == "major_hazard" for f in facts)
    inspector = auth_headers(regulator(Role.INSPECTOR, JurisdictionFactory()))
    assert client.get("/api/v1/checklists/review", headers=inspector).status_code == 403


def test_a_regime_change_is_audited_and_never_changes_earlier_judgements(
    world, published, client, auth_headers, db, jobs
):
    phone, firm = world["phone"], world["firm"]
    firm.update(set__regime="hazchem", set__industry_code="C26")
    before = phone.create_inspection(
        enterprise_id=str(firm.id),
        checklist_code="CS",
        checklist_version=2,
        answers={"CS-08": {"value": 40}},
    )
    phone.push()
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    url = f"/api/v1/enterprises/{firm.id}"
    etag = client.get(url, headers=admin).headers["ETag"]
    body = {"regime": "industrial", "reason": "储存危险化学品已停止，按工贸企业监管"}
    assert client.put(f"{url}/regime", json=body, headers=admin).status_code == 428
    changed = client.put(f"{url}/regime", json=body, headers={**admin, "If-Match": etag})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["regime"] == "industrial"
    assert changed.get_json()["regime_override"]["reason"] == body["reason"]
    supervisor = auth_headers(regulator(Role.SUPERVISOR, world["jurisdiction"]))
    etag = client.get(url, headers=admin).headers["ETag"]
    refused = client.put(f"{url}/regime", json=body, headers={**supervisor, "If-Match": etag})
    assert refused.status_code == 403
    jobs()
    assert "enterprise.regime" in [e["action"] for e in stored(db, str(world["jurisdiction"].id))]
    # The earlier inspection keeps the regime it was made under, even when edited later.
    phone.edit(before, answers={"CS-08": {"value": 45}})
    after = phone.create_inspection(
        enterprise_id=str(firm.id),
        checklist_code="CS",
        checklist_version=2,
        answers={"CS-08": {"value": 45}},
    )
    phone.push()
    phone.pull()
    assert phone.server["inspections"][before]["judged_under"]["regime"] == "hazchem"
    assert _answers(phone, before)["CS-08"]["outcome"] == "fail"
    assert phone.server["inspections"][after]["judged_under"]["regime"] == "industrial"
    assert _answers(phone, after)["CS-08"]["outcome"] == "warn"


def test_industry_codes_are_a_controlled_list(client, auth_headers, db):
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    jurisdiction = JurisdictionFactory()
    body = {
        "name": "某化工有限公司",
        "credit_code": "91310115MA1H7GXX2T",
        "industry": "化工",
        "industry_code": "C26",
        "address": "上海",
        "jurisdiction_id": str(jurisdiction.id),
    }
    from tests.factories import credit_code

    body["credit_code"] = credit_code(999)
    created = client.post("/api/v1/enterprises", json=body, headers=admin)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["regime"] == "hazchem"
    bad = client.post(
        "/api/v1/enterprises",
        json={**body, "industry_code": "Z99", "credit_code": credit_code(998)},
        headers=admin,
    )
    assert bad.status_code == 422
    assert bad.mimetype == "application/problem+json"
    assert bad.get_json()["errors"][0]["field"] == "industry_code"
