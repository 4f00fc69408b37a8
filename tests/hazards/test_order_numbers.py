"""20 numbering jobs of one issuing body run at once, some of them twice at once, some after
a worker died having taken the number but before writing the order, some again after they
finished: the orders get 1…20 with no gap and no duplicate, each order one number."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from checklists.template import AnswerType
from checklists.versions import pinned_template
from server.jobs.outbox import run_entry
from server.models.order import Order
from server.models.outbox_entry import OutboxEntry
from server.sequence import CLAIMS
from server.services.hazards import numbering, orders
from tests.hazards.helpers import failing_answers, make_issuing_world, submit_inspection

ORDERS = 20
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def requested(client, auth_headers, published, job_settings, jobs):
    """20 requested orders of one body, one failed item each, their hazards registered."""
    world = make_issuing_world(client, auth_headers)
    codes = [i.code for i in pinned_template("CS", 2).items if i.answer is AnswerType.YES_NO_NA]
    made = []
    while len(made) < ORDERS:
        chunk = codes[: min(len(codes), ORDERS - len(made))]
        inspection = submit_inspection(world, failing_answers(*chunk))
        for code in chunk:
            made.append(
                orders.request(
                    world["inspector"].actor(),
                    inspection,
                    items=[{"item_code": code, "term_days": 10, "measures": "整改"}],
                    co_inspector_id=world["co_inspector"].id,
                    now=NOW,
                )
            )
    # Only the findings run here (the queue also holds the numbering jobs: leave them).
    entries = {o["id"]: o["outbox"][0] for o in made}
    for raw in OutboxEntry._get_collection().find({"job": "hazards.findings"}):
        run_entry(raw["_id"])
    return world, entries


@pytest.mark.slow
def test_concurrent_and_retried_numbering_jobs_give_consecutive_numbers(requested, db):
    world, entries = requested
    ids = list(entries)
    # A worker died right after taking numbers for three orders: a claim, no order update.
    for oid in ids[:3]:
        numbering.take(db, world["body"].id, 2026, key=oid, now=NOW)
    # Every entry once, five of them twice at the same time.
    runs = [entries[oid] for oid in ids] + [entries[oid] for oid in ids[5:10]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(run_entry, runs))
    # Five run again after they finished (a retry whose finish was lost).
    OutboxEntry._get_collection().update_many(
        {"_id": {"$in": [entries[oid] for oid in ids[10:15]]}},
        {"$set": {"state": "ready"}},
    )
    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(run_entry, [entries[oid] for oid in ids[10:15]]))
    numbered = Order.objects(id__in=ids)
    assert sorted(o.seq for o in numbered) == list(range(1, ORDERS + 1))
    assert len({o.number for o in numbered}) == ORDERS
    assert all(o.state == "issued" for o in numbered)
    assert db[CLAIMS].count_documents({}) == ORDERS
    # The three that died first kept the numbers they took.
    taken = {c["key"]: c["n"] for c in db[CLAIMS].find()}
    assert all(Order.objects.get(id=oid).seq == taken[oid] for oid in ids)
    # One render job per order.
    renders = OutboxEntry.objects(job=orders.RENDER_JOB).count()
    assert renders == ORDERS
