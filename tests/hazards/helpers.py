"""Shared pieces of the hazard tests: a firm judged under a stated regime, its people and
phones, and an inspection submitted with failed items."""

from __future__ import annotations

from checklists.versions import pinned_template
from server.actor import Role
from tests.factories import EnterpriseFactory, JurisdictionFactory, enterprise_user, regulator
from tests.sync.helpers import passing_answers, phone_for

PHOTO = "ab" * 32
#: Under checklists v2 at a 工贸 firm of unknown poisoning risk: CS-14 (no attendant at all) is
#: "major, to be confirmed", CS-26 (attendant not trained) is general.
MAJOR_TO_CONFIRM, GENERAL = "CS-14", "CS-26"


def make_firm(client, auth_headers):
    jurisdiction = JurisdictionFactory()
    firm = EnterpriseFactory(
        jurisdiction_id=jurisdiction.id, industry_code="C34", regime="industrial"
    )
    inspector = regulator(Role.INSPECTOR, jurisdiction)
    return {
        "jurisdiction": jurisdiction,
        "firm": firm,
        "inspector": inspector,
        "supervisor": regulator(Role.SUPERVISOR, jurisdiction),
        "manager": enterprise_user(Role.ENTERPRISE_MANAGER, firm),
        "phone": phone_for(client, inspector, auth_headers, device_id=f"phone-{inspector.id}"),
    }


def failing_answers(*codes: str, version: int = 2) -> dict:
    answers = passing_answers(pinned_template("CS", version))
    for code in codes:
        answers[code] = {"value": "no", "photos": [PHOTO], "note": "现场未见"}
    return answers


def submit_inspection(world, answers: dict, *, version: int = 2, **extra) -> str:
    phone = world["phone"]
    inspection_id = phone.create_inspection(
        enterprise_id=str(world["firm"].id),
        checklist_code="CS",
        checklist_version=version,
        answers=answers,
        **extra,
    )
    phone.submit(inspection_id)
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["applied", "applied"], receipts
    return inspection_id


NUMBER_FORMAT = "（区）应急责改〔{year}〕第{n}号"


def make_issuing_world(client, auth_headers, *, firm_name="上海申华化工有限公司"):
    """A firm as `make_firm` makes it, with an issuing body for its jurisdiction and two
    inspectors holding enforcement certificates (执法证号)."""
    from datetime import UTC, datetime

    from server.services.hazards import issuing
    from tests.factories import UserFactory

    world = make_firm(client, auth_headers)
    world["firm"].update(set__name=firm_name)
    world["firm"].reload()
    world["inspector"].update(set__display_name="李明", set__enforcement_certificate="31010012")
    world["inspector"].reload()
    world["co_inspector"] = regulator(
        Role.INSPECTOR,
        world["jurisdiction"],
        display_name="王芳",
        enforcement_certificate="31010034",
    )
    world["admin"] = UserFactory(role=Role.ADMIN.value)
    world["body"] = issuing.create(
        world["admin"].actor(),
        now=datetime(2026, 1, 1, tzinfo=UTC),
        jurisdiction_id=world["jurisdiction"].id,
        name="上海市浦东新区应急管理局",
        number_format=NUMBER_FORMAT,
        reconsideration_body="上海市浦东新区人民政府",
        court="上海市浦东新区人民法院",
    )
    return world


def transition(client, world, who: str, hazard: str, action: str, **body):
    """One transition of `hazard` through the API as `who`, at the version they read first;
    the response, whatever it is."""
    url = f"/api/v1/hazards/{hazard}"
    version = client.get(url, headers=world["headers"][who]).get_json()["version"]
    return client.post(
        f"{url}/transitions",
        json={"action": action, "version": version, **body},
        headers=world["headers"][who],
    )


def step(client, world, who: str, hazard: str, action: str, **body) -> dict:
    """A transition that must be made; the hazard after it."""
    done = transition(client, world, who, hazard, action, **body)
    assert done.status_code == 200, (action, done.get_json())
    return done.get_json()
