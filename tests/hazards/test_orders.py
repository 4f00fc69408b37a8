"""Orders to rectify: requested for chosen failed items with a co-inspector, numbered by their
outbox job per issuing body and Asia/Shanghai year, once however often the job runs; refused
with reasons; corrected only by a new numbered order; synced to both inspectors and the
enterprise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.errors import Forbidden, NotFound, RuleViolation
from server.models.order import Order
from server.sequence import CLAIMS
from server.services.hazards import numbering, orders
from server.services.hazards.register import finding_id
from tests.hazards.helpers import (
    GENERAL,
    MAJOR_TO_CONFIRM,
    failing_answers,
    make_firm,
    make_issuing_world,
    submit_inspection,
)
from tests.sync.helpers import phone_for

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
ITEMS = [
    {"item_code": MAJOR_TO_CONFIRM, "term_days": 10, "measures": "设专人监护"},
    {"item_code": GENERAL, "term_days": 5, "measures": "组织监护人员培训"},
]


@pytest.fixture
def world(client, auth_headers, published, job_settings):
    found = make_issuing_world(client, auth_headers)
    found["inspection"] = submit_inspection(found, failing_answers(MAJOR_TO_CONFIRM, GENERAL))
    return found


def _request(world, items=ITEMS, **kw):
    return orders.request(
        world["inspector"].actor(),
        world["inspection"],
        items=items,
        co_inspector_id=world["co_inspector"].id,
        now=kw.pop("now", NOW),
        **kw,
    )


def test_numbers_are_formatted_per_body_and_shanghai_year():
    assert numbering.year_of(datetime(2026, 12, 31, 15, 59, tzinfo=UTC)) == 2026
    assert numbering.year_of(datetime(2026, 12, 31, 16, 0, tzinfo=UTC)) == 2027
    fmt = "（区）应急责改〔{year}〕第{n}号"
    assert numbering.format_number(fmt, year=2026, n=7) == "（区）应急责改〔2026〕第7号"
    assert numbering.format_problems(fmt) == []
    assert numbering.format_problems("应急责改〔{year}〕") == [
        "the format must contain {n}, the number"
    ]
    assert numbering.format_problems("{n}{year.__class__}") == [
        "only {year} and {n} may stand in braces"
    ]


def test_an_order_is_numbered_once_by_its_job_even_when_the_job_runs_again(world, db, jobs):
    # Requested with the submission: its hazards do not exist yet.
    order = _request(world)
    assert order["state"] == "requested" and "number" not in order
    assert order["hazard_ids"] == [finding_id(world["inspection"], c["item_code"]) for c in ITEMS]
    again = _request(world)  # the phone retried: the same order
    assert again["id"] == order["id"]
    jobs()
    stored = Order.objects.get(id=order["id"])
    assert stored.state == "issued"
    assert stored.number == "（区）应急责改〔2026〕第1号" and stored.seq == 1
    assert stored.items[0]["description"] == "作业现场设置了监护人员（现场未见）"
    assert stored.items[0]["major"] and stored.items[0]["legal_basis"]
    assert stored.pdf["sha256"]
    # The job again (a retry after a crash): no second number, no second render job.
    result = orders.number(order["id"], now=NOW, repeat_window=timedelta(days=30))
    assert result["seq"] == 1
    assert db[CLAIMS].count_documents({}) == 1
    assert db["outbox"].count_documents({"_id": orders.render_entry_id(order["id"])}) == 1


def test_refusals_list_every_reason(world, db):
    world["co_inspector"].update(set__enforcement_certificate=None)
    bad = [
        {"item_code": "CS-01", "term_days": 10, "measures": "x"},
        {"item_code": GENERAL, "term_days": 0, "measures": "x"},
    ]
    with pytest.raises(RuleViolation) as caught:
        _request(world, items=bad)
    codes = sorted(r["code"] for r in caught.value.reasons)
    assert codes == ["NOT_FAILED", "NO_CERTIFICATE", "TERM"]
    with pytest.raises(Forbidden):
        orders.request(
            world["supervisor"].actor(),
            world["inspection"],
            items=ITEMS,
            co_inspector_id=world["inspector"].id,
            now=NOW,
        )
    with pytest.raises(NotFound):  # a co-inspector must be a regulator of the jurisdiction
        orders.request(
            world["inspector"].actor(),
            world["inspection"],
            items=ITEMS,
            co_inspector_id=world["manager"].id,
            now=NOW,
        )
    assert Order.objects.count() == 0
    assert db["outbox"].count_documents({"job": orders.NUMBER_JOB}) == 0


def test_orders_reach_both_inspectors_and_the_firm_once_numbered(world, client, auth_headers, jobs):
    order = _request(world)
    manager = phone_for(client, world["manager"], auth_headers, device_id="manager-phone-1")
    co = phone_for(client, world["co_inspector"], auth_headers, device_id="co-phone-1")
    manager.pull()
    assert order["id"] not in manager.server.get("orders", {})  # no number yet
    jobs()
    for phone in (world["phone"], co, manager):
        phone.pull()
        copy = phone.server["orders"][order["id"]]
        assert copy["number"] == "（区）应急责改〔2026〕第1号" and copy["pdf"]["sha256"]
    other = make_firm(client, auth_headers)
    stranger = phone_for(client, other["manager"], auth_headers, device_id="manager-phone-2")
    stranger.pull()
    assert order["id"] not in stranger.server.get("orders", {})


def test_of_two_orders_requested_at_once_for_one_hazard_the_earlier_stands(world, db, jobs):
    first = _request(world, items=ITEMS[1:])
    # A second request that passed its checks at the same moment (no rival existed yet).
    rival = {
        **db["orders"].find_one({"_id": first["id"]}),
        "_id": str(uuid.uuid4()),
        "check_token": "rival-token-0123456789",
        "requested_at": NOW + timedelta(seconds=1),
    }
    db["orders"].insert_one(rival)
    window = timedelta(days=30)
    # Whichever job runs first, the same one stands and only it takes a number.
    assert "refused" in orders.number(rival["_id"], now=NOW, repeat_window=window)
    assert orders.number(first["id"], now=NOW, repeat_window=window)["seq"] == 1
    assert Order.objects.get(id=rival["_id"]).state == "refused"
    assert db[CLAIMS].count_documents({}) == 1
