"""An enterprise's H2S/CO poisoning risk (M10 Art.13) follows its ledger once a space is in
use there; before, and after the last space is retired, the admin's statement stands."""

from __future__ import annotations

from checklists.regime import industries
from server.models.audit_event import AuditEvent
from server.models.enterprise import Enterprise
from server.services.inspections import conditions_of
from tests.spaces.test_ledger import _create


def _enterprise(world) -> Enterprise:
    return Enterprise.objects.get(id=world["A"].id)


def _patch(client, world, body, who="admin"):
    url = f"/api/v1/enterprises/{world['A'].id}"
    etag = client.get(url, headers=world["headers"][who]).headers["ETag"]
    return client.patch(url, json=body, headers={**world["headers"][who], "If-Match": etag})


def _space(client, world, who="manager"):
    return client.get(
        f"/api/v1/spaces?enterprise_id={world['A'].id}", headers=world["headers"][who]
    ).get_json()


def test_the_gases_that_give_the_risk_are_data():
    assert industries().poisoning_risk_gases == {"H2S", "CO"}


def test_the_admins_statement_stands_until_a_space_is_in_use(client, world):
    assert _patch(client, world, {"poisoning_risk": True}).status_code == 200
    firm = _enterprise(world)
    assert (firm.poisoning_risk, firm.poisoning_risk_from) == (True, "admin")
    assert conditions_of(firm).poisoning_risk is True


def test_a_space_that_may_hold_h2s_or_co_gives_the_risk(client, world, jobs):
    assert _patch(client, world, {"poisoning_risk": False}).status_code == 200
    assert _create(client, world, gases=["CH4", "NH3"]).status_code == 201
    firm = _enterprise(world)
    # A space in use decides now, even when none of its gases poisons: the ledger says no.
    assert (firm.poisoning_risk, firm.poisoning_risk_from) == (False, "ledger")
    assert _create(client, world, code="YX-002", gases=["CO"]).status_code == 201
    firm = _enterprise(world)
    assert (firm.poisoning_risk, firm.poisoning_risk_from) == (True, "ledger")
    assert conditions_of(firm).poisoning_risk is True
    jobs()
    changes = AuditEvent.objects(action="enterprise.poisoning_risk").count()
    assert changes == 2  # admin -> ledger (false), then false -> true
    shown = client.get(f"/api/v1/enterprises/{firm.id}", headers=world["headers"]["supervisor"])
    assert shown.get_json()["poisoning_risk_from"] == "ledger"


def test_changing_or_retiring_the_spaces_moves_it_back(client, world):
    assert _patch(client, world, {"poisoning_risk": True}).status_code == 200
    space = _create(client, world, gases=["H2S"]).get_json()
    url = f"/api/v1/spaces/{space['id']}"
    headers = world["headers"]["manager"]

    def change(body):
        etag = client.get(url, headers=headers).headers["ETag"]
        response = client.patch(url, json=body, headers={**headers, "If-Match": etag})
        assert response.status_code == 200, response.get_json()

    change({"gases": ["CH4"]})
    assert _enterprise(world).poisoning_risk is False
    change({"status": "retired"})
    firm = _enterprise(world)
    # No space in use: back to what the admin stated.
    assert (firm.poisoning_risk, firm.poisoning_risk_from) == (True, "admin")


def test_an_admin_cannot_overrule_the_ledger(client, world):
    assert _create(client, world, gases=["H2S"]).status_code == 201
    response = _patch(client, world, {"poisoning_risk": False})
    assert response.status_code == 409
    assert "spaces' gases" in response.get_json()["detail"]
    assert _enterprise(world).poisoning_risk is True
