"""The review site's audit page: a supervisor verifies a range of their jurisdiction's chain
(signed heads checked) and sees where it breaks once an event is changed; other chains are not
theirs; bad ranges are refused with a page."""

from __future__ import annotations

import pytest

from server.actor import Role
from server.clock import utcnow
from server.services.audit import chain, heads, signing
from tests.factories import JurisdictionFactory, UserFactory, regulator
from tests.hazards.helpers import make_firm
from tests.web.pages import log_in


@pytest.fixture
def world(client, auth_headers, jobs, db, settings):
    found = make_firm(client, auth_headers)
    headers = auth_headers(found["inspector"])
    for description in ("未设监护人", "警示标识缺失", "未检测气体"):
        body = {
            "enterprise_id": str(found["firm"].id),
            "description": description,
            "level": "general",
        }
        assert client.post("/api/v1/hazards", json=body, headers=headers).status_code == 201
    jobs()
    heads.sign_heads(db, signing.private_key(settings.audit_signing_key), now=utcnow())
    found["chain"] = str(found["jurisdiction"].id)
    found["head"] = chain.head(db, found["chain"])
    return found


def test_a_supervisor_verifies_a_range_and_sees_where_it_breaks(client, world, db):
    log_in(client, world["supervisor"], "/review/audit")
    form = client.get("/review/audit").get_data(as_text=True)
    assert f'<option value="{world["chain"]}"' in form and 'value="system"' not in form
    url = f"/review/audit?chain={world['chain']}&first=1&last={world['head']}"
    page = client.get(url).get_data(as_text=True)
    assert "校验通过" in page
    assert f"{world['head']} events (1..{world['head']}), 1 signed heads checked" in page
    assert "范围末端即签名链头" in page
    # A range short of the head is checked too, and offers to reach the signed head.
    short = client.get(f"/review/audit?chain={world['chain']}&first=2&last=2&lang=en")
    assert "Intact" in short.get_data(as_text=True)
    assert f"Verify up to the signed head n={world['head']}" in short.get_data(as_text=True)
    second = chain.event_id(world["chain"], 2)
    db[chain.EVENTS].update_one({"_id": second}, {"$set": {"action": "hazard.close"}})
    broken = client.get(url + "&lang=zh-CN").get_data(as_text=True)
    assert "校验未通过" in broken
    assert "event n=2 (events.jsonl line 2): content does not match its hash" in broken


def test_bad_ranges_and_other_chains_are_refused(client, world):
    log_in(client, world["supervisor"], "/review/audit")
    backwards = client.get(f"/review/audit?chain={world['chain']}&first=3&last=2")
    assert backwards.status_code == 422 and backwards.mimetype == "text/html"
    assert "last comes before first" in backwards.get_data(as_text=True)
    past = client.get(f"/review/audit?chain={world['chain']}&first={world['head'] + 1}")
    assert past.status_code == 422
    assert client.get("/review/audit?chain=../etc").status_code == 422
    stranger = regulator(Role.SUPERVISOR, JurisdictionFactory())
    log_in(client, stranger, "/review/audit")
    refused = client.get(f"/review/audit?chain={world['chain']}")
    assert refused.status_code == 404 and world["chain"] not in refused.get_data(as_text=True)


def test_an_admin_may_check_any_chain_and_an_inspector_none(client, world):
    log_in(client, UserFactory(role=Role.ADMIN.value), "/review/audit")
    form = client.get("/review/audit").get_data(as_text=True)
    assert f'<option value="{world["chain"]}"' in form
    assert "校验通过" in client.get(f"/review/audit?chain={world['chain']}").get_data(as_text=True)


def test_an_inspector_may_not_open_the_audit_page(client, world):
    log_in(client, world["inspector"], "/review/audit")
    assert client.get("/review/audit").status_code == 403
