"""The fault test of offline sync: 1,000 mutations from 5 phones through a link that loses
requests, loses responses after the server committed, duplicates and reorders requests
(seeded). The server must end with exactly the intended state, and every phone must converge
to it by pulling."""

from __future__ import annotations

import random

from checklists.versions import pinned_template
from server.models.inspection import Inspection
from sync.client import FlakyLink, WsgiTransport
from sync.collections import BY_NAME
from tests.sync.helpers import make_world, passing_answers, phone_for

MUTATIONS = 1000
PHONES = 5


def test_thousand_mutations_through_a_flaky_link_land_exactly_once(
    client, auth_headers, published, db
):
    cs = pinned_template("CS", 1)
    _j, enterprise, inspectors = make_world(inspectors=PHONES)
    links = [FlakyLink(WsgiTransport(client), seed=100 + i) for i in range(PHONES)]
    phones = [
        phone_for(
            client, user, auth_headers, device_id=f"flaky-phone-{i}", transport=links[i], seed=i
        )
        for i, user in enumerate(inspectors)
    ]
    rng = random.Random(7)
    intended: dict[str, dict] = {}  # what each inspection must look like on the server
    drafts: list[list[str]] = [[] for _ in range(PHONES)]
    for n in range(MUTATIONS):
        i = rng.randrange(PHONES)
        phone, mine = phones[i], drafts[i]
        roll = rng.random()
        if not mine or roll < 0.3:
            answers = passing_answers(cs, rng.randint(0, 5))
            inspection_id = phone.create_inspection(
                enterprise_id=str(enterprise.id),
                checklist_code="CS",
                checklist_version=1,
                answers=answers,
            )
            intended[inspection_id] = {
                "version": 1,
                "status": "draft",
                "note": None,
                "deleted": False,
                "answers": sorted(answers),
            }
            mine.append(inspection_id)
        elif roll < 0.85:
            inspection_id = rng.choice(mine)
            phone.edit(inspection_id, note=f"edit {n}")
            intended[inspection_id]["note"] = f"edit {n}"
            intended[inspection_id]["version"] += 1
        elif roll < 0.95:
            inspection_id = mine.pop(rng.randrange(len(mine)))
            phone.submit(inspection_id, answers=passing_answers(cs))
            intended[inspection_id].update(status="submitted", answers=sorted(passing_answers(cs)))
            intended[inspection_id]["version"] += 1
        else:
            inspection_id = mine.pop(rng.randrange(len(mine)))
            phone.delete(inspection_id)
            intended[inspection_id]["deleted"] = True
            intended[inspection_id]["version"] += 1
        if rng.random() < 0.08:
            phone.sync()  # syncing whenever there is signal, mid-way through the work

    for phone, link in zip(phones, links, strict=True):
        phone.sync()
        link.flush()  # stale copies still in the air arrive late
    for phone in phones:
        phone.sync()

    # Nothing lost, nothing duplicated, every mutation applied exactly once.
    stored = {doc.id: doc for doc in Inspection.objects}
    assert set(stored) == set(intended)
    for inspection_id, want in intended.items():
        doc = stored[inspection_id]
        assert doc.version == want["version"], inspection_id
        assert doc.status == want["status"]
        assert doc.note == want["note"]
        assert (doc.deleted_at is not None) == want["deleted"]
        assert sorted(doc.answers) == want["answers"]
    assert sum(want["version"] for want in intended.values()) == MUTATIONS
    # One stored receipt per mutation except the creates, whose documents answer replays.
    assert db["sync_receipts"].count_documents({}) == MUTATIONS - len(intended)
    assert all(not phone.outbox and not phone.attention for phone in phones)
    # The link really misbehaved.
    for what in ("lose_request", "lose_response", "duplicate", "late_delivered"):
        assert sum(link.stats[what] for link in links) > 10, what

    # Every phone converges to the server's state by pulling.
    to_phone = BY_NAME["inspections"].to_phone
    as_json = client.application.json
    raw = {d["_id"]: d for d in db["inspections"].find()}
    for phone, user in zip(phones, inspectors, strict=True):
        expected = {
            i: as_json.loads(as_json.dumps(to_phone(d)))
            for i, d in raw.items()
            if d["inspector_id"] == user.id and d.get("deleted_at") is None
        }
        assert phone.server["inspections"] == expected
