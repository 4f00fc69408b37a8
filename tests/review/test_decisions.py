"""A returned inspection answered by a correction, then approved: over the API and the feed,
with the queue's evidence, idempotent retries and stale decisions."""

from __future__ import annotations

import pytest

from server.actor import Role
from server.models.audit_event import AuditEvent
from server.models.inspection import Inspection
from server.models.review_decision import ReviewDecision
from tests.factories import enterprise_user
from tests.review.helpers import decision, desk

QUEUE = "/api/v1/review/queue"


@pytest.fixture
def setup(client, auth_headers, published):
    return desk(client, auth_headers)


def _decide(client, headers, inspection_id, body):
    return client.post(f"/api/v1/inspections/{inspection_id}/decisions", json=body, headers=headers)


def test_returned_then_corrected_then_approved(setup, client, auth_headers, jobs):
    d = setup
    boss = auth_headers(d.supervisor)
    first, sha = d.inspect()
    queued = client.get(QUEUE, headers=boss)
    assert queued.status_code == 200
    (entry,) = queued.get_json()
    assert entry["kind"] == "inspection" and entry["id"] == first
    assert entry["failed_items"] == [d.item]
    (photo,) = entry["evidence"]["photos"]
    assert photo["sha256"] == sha and photo["item_code"] == d.item
    assert photo["thumbnail_url"] == f"/api/v1/photos/{sha}/thumbnail"
    assert photo["capture"] == "camera" and entry["evidence"]["in_app"] == "all"
    assert photo["skew_flag"] is False and photo["received_at"]
    assert photo["distance_m"] < 1 and entry["evidence"]["far"] is False
    assert entry["evidence"]["place_kind"] == "enterprise"
    assert entry["changes"]["corrects"] is None

    body = decision("returned", entry["version"], {d.item: "照片看不清井盖编号"})
    returned = _decide(client, boss, first, body)
    assert returned.status_code == 201, returned.get_json()
    assert returned.get_json()["verdict"] == "returned"
    # A retry of the same decision answers it again and decides nothing more.
    again = _decide(client, boss, first, body)
    assert again.status_code == 201 and again.get_json()["id"] == body["decision_id"]
    assert ReviewDecision.objects.count() == 1
    assert Inspection.objects.get(id=first).version == entry["version"] + 1
    assert client.get(QUEUE, headers=boss).get_json() == []

    d.phone.pull()
    mine = d.phone.server["inspections"][first]
    assert mine["status"] == "returned"
    assert mine["review"]["reasons"] == {d.item: "照片看不清井盖编号"}
    assert d.phone.server["review_decisions"][body["decision_id"]]["verdict"] == "returned"

    second, _ = d.inspect(corrects=first, note="井盖已锁，编号清晰", seed=2)
    (entry,) = client.get(QUEUE, headers=boss).get_json()
    assert entry["id"] == second
    changes = entry["changes"]
    assert changes["corrects"] == first and changes["previous_verdict"] == "returned"
    assert [c["item_code"] for c in changes["items"]] == [d.item]
    assert changes["items"][0]["returned_for"] == "照片看不清井盖编号"
    assert changes["returned_unchanged"] == []
    # The returned original is evidence as it was: its answers untouched.
    assert Inspection.objects.get(id=first).answers[d.item]["note"] == "井盖未锁"

    approved = _decide(client, boss, second, decision("approved", entry["version"]))
    assert approved.status_code == 201
    assert approved.get_json()["thread_id"] == first
    d.phone.pull()
    assert d.phone.server["inspections"][second]["status"] == "approved"

    jobs()
    actions = sorted(e.action for e in AuditEvent.objects(action__startswith="inspection.r"))
    assert actions == ["inspection.return"]
    assert AuditEvent.objects(action="inspection.approve").count() == 1


def test_a_stale_or_second_decision_is_409_and_an_incomplete_one_422(setup, client, auth_headers):
    d = setup
    boss = auth_headers(d.supervisor)
    inspection_id, _ = d.inspect()
    version = Inspection.objects.get(id=inspection_id).version
    stale = _decide(client, boss, inspection_id, decision("approved", version - 1))
    assert stale.status_code == 409
    assert stale.get_json()["reasons"] == [{"code": "STALE_VERSION", "version": version}]
    bare = _decide(client, boss, inspection_id, decision("returned", version, {}))
    assert bare.status_code == 422
    unknown = _decide(client, boss, inspection_id, decision("returned", version, {"ZZ-99": "x"}))
    assert unknown.status_code == 422
    assert unknown.get_json()["errors"] == [
        {"field": "reasons.ZZ-99", "messages": ["not an item answered in this inspection"]}
    ]
    assert _decide(client, boss, inspection_id, decision("approved", version)).status_code == 201
    late = _decide(client, boss, inspection_id, decision("returned", version, {d.item: "x"}))
    assert late.status_code == 409
    assert late.get_json()["reasons"] == [{"code": "NOT_AWAITING_REVIEW", "status": "approved"}]


def test_only_reviewers_decide_and_see_the_queue(setup, client, auth_headers):
    d = setup
    inspection_id, _ = d.inspect()
    manager = enterprise_user(Role.ENTERPRISE_MANAGER, d.enterprise)
    for user in (d.inspector, manager):
        headers = auth_headers(user)
        assert client.get(QUEUE, headers=headers).status_code == 403
        refused = _decide(client, headers, inspection_id, decision("approved", 2))
        assert refused.status_code == 403
    assert Inspection.objects.get(id=inspection_id).status == "submitted"
