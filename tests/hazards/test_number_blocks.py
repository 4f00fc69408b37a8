"""Offline numbers: two devices reserve blocks of numbers, issue orders offline from them and
sync in any order, an online order takes the next number meanwhile, and what a device will
not use is voided with a reason: every number of the series is used by exactly one order or
voided, none reused or skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from checklists.template import AnswerType
from checklists.versions import pinned_template
from server.actor import Role
from server.errors import RuleViolation
from server.models.number_block import NumberBlock
from server.models.order import Order
from server.sequence import CLAIMS
from server.services.hazards import number_blocks, orders
from tests.factories import regulator
from tests.hazards.helpers import failing_answers, make_issuing_world, submit_inspection
from tests.sync.helpers import phone_for

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def world(client, auth_headers, published, job_settings):
    found = make_issuing_world(client, auth_headers)
    # A second inspector with a phone of their own; the two co-inspect each other.
    second = regulator(
        Role.INSPECTOR,
        found["jurisdiction"],
        display_name="赵敏",
        enforcement_certificate="3101056",
    )
    found["second"] = second
    found["second_phone"] = phone_for(
        client, second, auth_headers, device_id="phone-second", seed=1
    )
    codes = [i.code for i in pinned_template("CS", 2).items if i.answer is AnswerType.YES_NO_NA]
    found["codes"] = codes[:4]
    found["inspection"] = submit_inspection(found, failing_answers(*codes[:4]))
    found["second_inspection"] = submit_inspection(
        {**found, "phone": found["second_phone"]}, failing_answers(*codes[:4])
    )
    return found


def _offline(world, who, inspection, code, block, n):
    co = world["co_inspector"] if who == "inspector" else world["inspector"]
    return orders.request(
        world[who].actor(),
        inspection,
        items=[{"item_code": code, "term_days": 10, "measures": "整改"}],
        co_inspector_id=co.id,
        now=NOW,
        reserved_number={"block_id": block["id"], "n": n},
    )


def test_every_number_is_used_once_or_voided_with_a_reason(world, db, jobs):
    first = number_blocks.reserve(
        world["inspector"].actor(), str(uuid.uuid4()), device_id="phone-1", size=3, now=NOW
    )
    second = number_blocks.reserve(
        world["second"].actor(), str(uuid.uuid4()), device_id="phone-second", size=3, now=NOW
    )
    assert sorted(map(int, first["numbers"])) == [1, 2, 3]
    assert sorted(map(int, second["numbers"])) == [4, 5, 6]
    # A retried reservation gets the same block and numbers.
    again = number_blocks.reserve(
        world["inspector"].actor(), first["id"], device_id="phone-1", size=3, now=NOW
    )
    assert again["numbers"] == first["numbers"]
    a, b = world["inspection"], world["second_inspection"]
    c = world["codes"]
    # The second device syncs first; an online order comes in between.
    made = [
        _offline(world, "second", b, c[0], second, 6),
        _offline(world, "second", b, c[1], second, 4),
        orders.request(
            world["inspector"].actor(),
            a,
            items=[{"item_code": c[3], "term_days": 10, "measures": "整改"}],
            co_inspector_id=world["co_inspector"].id,
            now=NOW,
        ),
        _offline(world, "inspector", a, c[0], first, 2),
    ]
    # A number is used once: another order cannot take it.
    with pytest.raises(RuleViolation) as caught:
        _offline(world, "inspector", a, c[1], first, 2)
    assert [r["code"] for r in caught.value.reasons] == ["NUMBER_USED"]
    jobs()
    numbers = {o["id"]: Order.objects.get(id=o["id"]).seq for o in made}
    assert [numbers[o["id"]] for o in made] == [6, 4, 7, 2]
    for block, n, reason in (
        (first, 1, "打印时卡纸作废"),
        (first, 3, "未使用，交回"),
        (second, 5, "填写错误"),
    ):
        owner = world["inspector"] if block is first else world["second"]
        number_blocks.void(owner.actor(), block["id"], n, reason=reason, now=NOW)
    with pytest.raises(RuleViolation):  # a used number is never voided
        number_blocks.void(world["inspector"].actor(), first["id"], 2, reason="x", now=NOW)
    # Every number the counter handed out: one order, or voided with a reason.
    taken = sorted(c["n"] for c in db[CLAIMS].find())
    assert taken == list(range(1, 8))
    slots = {int(n): slot for block in NumberBlock.objects for n, slot in block.numbers.items()}
    by_order = {o.seq: o.id for o in Order.objects(state="issued")}
    for n in taken:
        if n in slots and slots[n]["state"] == "voided":
            assert slots[n]["reason"] and n not in by_order
        else:
            assert n in by_order
            assert n not in slots or slots[n]["order_id"] == by_order[n]


def test_over_the_api_a_block_is_reserved_synced_down_used_and_voided(
    client, world, auth_headers, jobs
):
    headers = auth_headers(world["inspector"])
    block_id = str(uuid.uuid4())
    body = {"id": block_id, "device_id": "android-phone-1", "size": 2}
    made = client.post("/api/v1/number-blocks", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    assert client.post("/api/v1/number-blocks", json=body, headers=headers).get_json() == (
        made.get_json()
    )
    world["phone"].pull()
    numbers = world["phone"].server["number_blocks"][block_id]["numbers"]
    assert {s["number"] for s in numbers.values()} == {
        "（区）应急责改〔2026〕第1号",
        "（区）应急责改〔2026〕第2号",
    }
    order = {
        "inspection_id": world["inspection"],
        "co_inspector_id": str(world["co_inspector"].id),
        "items": [{"item_code": world["codes"][0], "term_days": 3, "measures": "整改"}],
        "reserved_number": {"block_id": block_id, "n": 2},
    }
    assert client.post("/api/v1/orders", json=order, headers=headers).status_code == 202
    jobs()
    void = client.post(
        f"/api/v1/number-blocks/{block_id}/void",
        json={"n": 2, "reason": "作废"},
        headers=headers,
    )
    assert void.status_code == 422
    assert [r["code"] for r in void.get_json()["reasons"]] == ["NUMBER_USED"]
    voided = client.post(
        f"/api/v1/number-blocks/{block_id}/void",
        json={"n": 1, "reason": "打印错误"},
        headers=headers,
    )
    assert voided.get_json()["numbers"]["1"]["state"] == "voided"
    assert voided.get_json()["numbers"]["2"]["order_id"]
    others = auth_headers(world["second"])
    theirs = client.post(
        f"/api/v1/number-blocks/{block_id}/void", json={"n": 1, "reason": "x"}, headers=others
    )
    assert theirs.status_code == 404
