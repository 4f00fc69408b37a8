"""A queue with every kind of entry, a decision and the decisions of an inspection answer what
the OpenAPI document says (tests/api/conformance.py); the fuzz test's world has no
submitted inspection to fill them."""

from __future__ import annotations

from datetime import timedelta

from server.clock import utcnow
from tests.api.conformance import conforms
from tests.review.helpers import decision, desk
from tests.review.test_queue import _hazard


def test_the_queue_and_decisions_answer_what_the_document_says(client, auth_headers, published):
    d = desk(client, auth_headers)
    first, _ = d.inspect()
    _hazard(d.enterprise, "reported", at=utcnow() - timedelta(days=1))
    applied = {"text": "申请销号", "at": utcnow() - timedelta(hours=1)}
    _hazard(d.enterprise, "reinspection", level="major", application=applied)
    boss = auth_headers(d.supervisor)
    queue = client.get("/api/v1/review/queue", headers=boss)
    assert [e["kind"] for e in queue.get_json()] == ["rectification", "closeout", "inspection"]
    conforms(queue, "get", "/api/v1/review/queue")

    url = f"/api/v1/inspections/{first}/decisions"
    version = queue.get_json()[-1]["version"]
    returned = client.post(url, json=decision("returned", version, {d.item: "补拍"}), headers=boss)
    assert returned.status_code == 201
    conforms(returned, "post", "/api/v1/inspections/{inspection_id}/decisions", inspection_id=first)
    d.inspect(corrects=first, seed=5)
    corrected = client.get("/api/v1/review/queue", headers=boss)
    assert corrected.get_json()[-1]["changes"]["items"]
    conforms(corrected, "get", "/api/v1/review/queue")
    listed = client.get(url, headers=boss)
    conforms(listed, "get", "/api/v1/inspections/{inspection_id}/decisions", inspection_id=first)
