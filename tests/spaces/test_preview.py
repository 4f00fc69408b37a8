"""The decision preview before the tap (`GET /api/v1/spaces/{id}/entry-preview` and the worker
page): the same rules and reasons as the scan that follows, and no effect at all — no nonce
taken, no roster made or changed, no entry event, no violation, nothing audited."""

from __future__ import annotations

import pytest

from server.models.audit_event import AuditEvent
from server.models.entry import EntryEvent, Roster
from server.models.outbox_entry import OutboxEntry
from server.models.violation import Violation
from tests.spaces.site import READINGS, make_site
from tests.web.pages import log_in


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def _preview(site, action="enter", who="worker", **query):
    url = f"/api/v1/spaces/{site.space['id']}/entry-preview"
    return site.client.get(url, query_string={"action": action, **query}, headers=site.headers[who])


def _codes(body) -> list[str]:
    return [r["code"] for r in body["reasons"]]


def _effects() -> tuple:
    return (
        # A scan's outbox entry is also the claim of its request's nonce (none is taken).
        EntryEvent.objects.count(),
        Violation.objects.count(),
        AuditEvent.objects.count(),
        OutboxEntry.objects.count(),
        [(r.id, r.seq, r.inside, r.attendants) for r in Roster.objects()],
    )


def test_a_preview_gives_the_scans_reasons_and_changes_nothing(site):
    site.ready(readings={**READINGS, "H2S": {"value": 30, "unit": "ppm"}})
    before = _effects()
    response = _preview(site, token=site.token)
    assert response.status_code == 200, response.get_json()
    preview = response.get_json()
    assert (preview["allowed"], preview["label_checked"], preview["headcount"]) == (
        False,
        True,
        0,
    )
    assert "GAS_FAIL" in _codes(preview)
    assert preview["permit_id"] == site.permit["id"]
    assert _preview(site, token=site.token).get_json()["reasons"] == preview["reasons"]
    assert _effects() == before
    scanned = site.scan("enter").get_json()
    assert (scanned["allowed"], scanned["reasons"]) == (False, preview["reasons"])


def test_a_preview_follows_the_roster_and_the_permit(site):
    site.ready()
    assert _preview(site).get_json()["allowed"] is True
    assert _preview(site, "exit").get_json()["allowed"] is False  # not inside
    assert Roster.objects.get(id=site.space["id"]).inside == []  # previewed, not entered
    assert site.scan("enter").get_json()["allowed"]
    inside = _preview(site).get_json()
    assert (inside["allowed"], _codes(inside), inside["headcount"]) == (
        False,
        ["ALREADY_INSIDE"],
        1,
    )
    assert _preview(site, "exit").get_json()["allowed"] is True
    # The attendant previews checking out (allowed, with the warning the scan would give).
    leaving = _preview(site, "attendant_check_out", who="attendant").get_json()
    assert leaving["allowed"] and "ATTENDANT_LEFT" in _codes(leaving)
    assert Roster.objects.get(id=site.space["id"]).attendants == [site.users["attendant"].id]


def test_a_preview_without_a_label_does_not_judge_it_and_makes_no_roster(site):
    preview = _preview(site).get_json()
    assert (preview["allowed"], preview["label_checked"]) == (False, False)
    assert "NO_PERMIT" in _codes(preview) and "QR_INVALID" not in _codes(preview)
    assert Roster.objects(id=site.space["id"]).count() == 0


def test_a_bad_label_is_refused_as_the_scan_refuses_it(site, client, world, auth_headers):
    site.ready()
    forged = site.token[:-2] + ("AA" if not site.token.endswith("AA") else "BA")
    other = make_site(client, world, auth_headers, code="YX-002")
    for token, code in ((forged, "LABEL_FORGED"), (other.token, "LABEL_OTHER_SPACE")):
        preview = _preview(site, token=token).get_json()
        assert preview["allowed"] is False and _codes(preview) == ["QR_INVALID"]
        assert preview["reasons"][0]["detail"] == code
    rotated = site.post(f"/api/v1/spaces/{site.space['id']}/label", {})
    preview = _preview(site, token=site.token).get_json()
    assert "QR_INVALID" in _codes(preview) and rotated.status_code == 201


def test_a_preview_is_scoped_and_answers_bad_input_with_a_problem(site):
    site.ready()
    assert _preview(site, who="manager_b").status_code == 404
    # A worker previews only their own scan; the attendant of the permit may for an entrant.
    refused = _preview(site, worker_id=site.id("contractor"))
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    entrant = _preview(site, who="attendant", worker_id=site.id("contractor")).get_json()
    assert entrant["allowed"] and entrant["worker_id"] == site.id("contractor")
    bad = _preview(site, action="jump")
    assert bad.status_code == 422 and bad.headers["Content-Type"] == "application/problem+json"
    assert [(e["in"], e["field"]) for e in bad.get_json()["errors"]] == [("query", "action")]


def test_the_worker_page_shows_the_preview_before_the_tap(client, site):
    site.ready(readings={**READINGS, "H2S": {"value": 30, "unit": "ppm"}})
    url = f"/s/{site.token}"
    log_in(client, site.users["worker"], url)
    before = _effects()
    page = client.get(url).get_data(as_text=True)
    assert 'id="preview"' in page and "现在进入有限空间：不可以" in page
    assert 'data-code="GAS_FAIL"' in page
    assert _effects() == before
    assert site.record("gas_test", "manager", readings=READINGS).status_code == 201
    assert "现在进入有限空间：可以" in client.get(url).get_data(as_text=True)
