"""The review queue's contents, order and filters, with hazards awaiting a supervisor, and the
evidence flags (far from the place, device clock skewed); a decision retried after a crash."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.actor import Role
from server.clock import utcnow
from server.models.audit_event import AuditEvent
from server.models.hazard import Hazard
from server.models.inspection import Inspection
from server.models.review_decision import ReviewDecision
from server.services.review import decisions, queue
from tests.factories import EnterpriseFactory, JurisdictionFactory, regulator
from tests.review.helpers import SITE, decision, desk

QUEUE = "/api/v1/review/queue"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def setup(client, auth_headers, published):
    return desk(client, auth_headers)


def _hazard(enterprise, state: str, *, level="general", at=T0, application=None, **extra):
    """A hazard as its lifecycle leaves it in `state` (reported at `at`)."""
    return Hazard(
        id=str(uuid.uuid4()),
        source="inspection",
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        checklist_code="CS",
        description="井口未设警示标志",
        level=level,
        state=state,
        history=[{"action": "report_rectified", "from": "in_progress", "to": state, "at": at}],
        closeout_application=application,
        **extra,
    ).save()


def test_oldest_first_with_hazards_awaiting_a_supervisor(setup, client, auth_headers):
    d = setup
    inspection_id, _ = d.inspect()
    reported = _hazard(d.enterprise, "reported", at=T0 + timedelta(days=1))
    applied = _hazard(
        d.enterprise,
        "reinspection",
        level="major",
        application={"text": "已整改完毕，申请销号", "at": T0},
    )
    _hazard(d.enterprise, "reinspection", level="major")  # the inspector's turn
    _hazard(d.enterprise, "in_progress")  # the firm's turn
    elsewhere = EnterpriseFactory(jurisdiction_id=JurisdictionFactory().id)
    _hazard(elsewhere, "reported")

    boss = auth_headers(d.supervisor)
    found = client.get(QUEUE, headers=boss).get_json()
    assert [(e["kind"], e["id"]) for e in found] == [
        ("closeout", applied.id),
        ("rectification", reported.id),
        ("inspection", inspection_id),
    ]
    assert found[0]["url"] == f"/review/hazards/{applied.id}"
    assert found[0]["evidence"]["place_kind"] == "enterprise"

    def ids(**query):
        answer = client.get(QUEUE, query_string=query, headers=boss)
        assert answer.status_code == 200, answer.get_json()
        return [e["id"] for e in answer.get_json()]

    assert ids(kind="inspection") == [inspection_id]
    assert ids(level="major") == [applied.id, inspection_id]
    assert ids(level="general") == [reported.id]
    assert ids(campaign="HW") == []
    assert ids(enterprise_id=str(elsewhere.id)) == []
    assert ids(inspector_id=str(d.inspector.id)) == [inspection_id]
    assert ids(regime="construction") == []
    bad = client.get(QUEUE, query_string={"level": "huge"}, headers=boss)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    # Paged like every list.
    page = client.get(QUEUE, query_string={"page_size": 1, "page": 2}, headers=boss)
    assert [e["id"] for e in page.get_json()] == [reported.id]


def test_far_from_the_enterprise_and_a_skewed_clock_are_flagged(setup, client, auth_headers):
    d = setup
    d.phone.clock = lambda: datetime.now(UTC) + timedelta(hours=2)
    inspection_id, _ = d.inspect()
    far = (SITE[0] + 0.02, SITE[1])  # about 1.9 km east
    Inspection.objects(id=inspection_id).update(
        set__location={"longitude": far[0], "latitude": far[1], "accuracy_m": 5}
    )
    (entry,) = client.get(QUEUE, headers=auth_headers(d.supervisor)).get_json()
    assert entry["clock_skewed"] is True and entry["evidence"]["skewed"] is True
    assert entry["evidence"]["far"] is True
    assert 1800 < entry["evidence"]["fix_distance_m"] < 2000


def test_a_decision_retried_after_a_crash_is_completed_once(setup, auth_headers, jobs):
    d = setup
    inspection_id, _ = d.inspect()
    actor = d.supervisor.actor()
    version = Inspection.objects.get(id=inspection_id).version
    body = decision("approved", version)
    args = {k: body[k] for k in ("decision_id", "verdict", "inspection_version")}
    decisions.decide(actor, inspection_id, now=utcnow(), **args)
    # As if the process died after the inspection's compare-and-set: no decision document.
    ReviewDecision._get_collection().delete_many({})
    again = decisions.decide(actor, inspection_id, now=utcnow(), **args)
    assert again["id"] == body["decision_id"] and again["inspection_version"] == version + 1
    assert ReviewDecision.objects.count() == 1
    jobs()
    assert AuditEvent.objects(action="inspection.approve").count() == 1
    assert queue.pending(actor).count() == 0


def test_a_supervisor_of_another_jurisdiction_sees_none_of_it(setup, client, auth_headers):
    d = setup
    inspection_id, _ = d.inspect()
    other = regulator(Role.SUPERVISOR, JurisdictionFactory())
    assert client.get(QUEUE, headers=auth_headers(other)).get_json() == []
    url = f"/api/v1/inspections/{inspection_id}/decisions"
    assert client.get(url, headers=auth_headers(other)).status_code == 404
