"""A push's receipts (applied, conflict with the server's copy, rejected with its problem) and a
pull's changes of every collection answer what the OpenAPI document says
(tests/api/conformance.py checks each answer). The fuzz test rarely gets this far: its pushes
name no real enterprise, and its feed is empty."""

from __future__ import annotations

import uuid

from checklists.versions import pinned_template
from server.models.enterprise import Enterprise
from tests.api.conformance import conforms
from tests.sync.helpers import make_world, passing_answers, phone_for

PUSH, PULL = "/api/v1/sync/push", "/api/v1/sync/pull"
DEVICE = "documented-phone"


def _mutation(op: str, inspection_id: str, **fields) -> dict:
    return {
        "mutation_id": str(uuid.uuid4()),
        "collection": "inspections",
        "op": op,
        "id": inspection_id,
        **fields,
    }


def test_receipts_and_changes_answer_what_the_document_says(client, auth_headers, published):
    _j, enterprise, (inspector,) = make_world()
    Enterprise.objects(id=enterprise.id).update_one(set__regime="industrial")
    phone = phone_for(client, inspector, auth_headers, device_id=DEVICE)
    headers = {"Authorization": f"Bearer {phone.token}"}
    inspection_id = str(uuid.uuid4())
    created = {
        "checklist_code": "CS",
        "checklist_version": 1,
        "enterprise_id": str(enterprise.id),
        "answers": passing_answers(pinned_template("CS", 1), 3),
        "location": {"longitude": 121.47, "latitude": 31.23, "accuracy_m": 8.0},
    }
    mutations = [
        _mutation("create", inspection_id, data=created),
        _mutation("update", inspection_id, base_version=1, data={"note": "复查"}),
        _mutation("update", inspection_id, base_version=1, data={"note": "stale"}),  # conflict
        _mutation("update", str(uuid.uuid4()), base_version=1, data={"answers": []}),  # rejected
    ]
    pushed = client.post(PUSH, json={"device_id": DEVICE, "mutations": mutations}, headers=headers)
    statuses = [r["status"] for r in pushed.get_json()["receipts"]]
    assert statuses == ["applied", "applied", "conflict", "rejected"]
    conforms(pushed, "post", PUSH)

    pulled = client.get(PULL, query_string={"device_id": DEVICE}, headers=headers)
    changes = pulled.get_json()["changes"]
    assert {c["collection"] for c in changes} == {
        "checklist_versions",
        "enterprises",
        "inspections",
    }
    conforms(pulled, "get", PULL)
