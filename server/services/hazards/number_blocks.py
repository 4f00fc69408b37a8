"""Reserved blocks of order numbers for inspectors working offline.

`reserve` takes a block's numbers from the issuing body's gapless counter, each under the key
`block:<block id>:<slot>`, so a retried reservation (same block id) gets the same numbers and a
crash part-way leaves nothing a retry does not finish. The block document is written first and
completed after, so every number taken for it is found from it. The phone syncs its block down,
prints an order offline with a reserved number, and the order's request names it
(`reserved_number`); the numbering job `bind`s it to the order with a compare-and-set (one
order per number, the same order on a retry). A number that will not be used is voided (作废)
with a reason; a used or voided number never changes again.
"""

from __future__ import annotations

from datetime import datetime

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from server.actor import Actor, Role
from server.errors import Forbidden, NotFound, RuleViolation
from server.models.issuing_body import IssuingBody
from server.models.number_block import NumberBlock, NumberState
from server.models.order import Order, OrderState
from server.models.synced import mark_dirty, new_fields
from server.models.user import User
from server.services.audit import record
from server.services.hazards import issuing, numbering, order_text

COLLECTION = NumberBlock._get_collection_name()


def max_size() -> int:
    return order_text.text()["reserved_block"]["max"]


def reserve(actor: Actor, block_id: str, *, device_id: str, size: int, now: datetime) -> dict:
    """Reserve `size` numbers for the actor's device (inspectors holding 执法证号)."""
    if actor.role is not Role.INSPECTOR:
        raise Forbidden("numbers are reserved by inspectors")
    user = User.objects(id=actor.user_id).first()
    if not user.enforcement_certificate:
        raise RuleViolation("you hold no 执法证号", reasons=[{"code": "NO_CERTIFICATE"}])
    if not 1 <= size <= max_size():
        raise RuleViolation(f"a block holds 1 to {max_size()} numbers", reasons=[{"code": "SIZE"}])
    collection = NumberBlock._get_collection()
    block = collection.find_one({"_id": block_id})
    if block is not None and block["inspector_id"] != actor.user_id:
        raise NotFound(f"number block {block_id} not found")
    if block is None:
        body = issuing.for_jurisdiction(actor.jurisdiction_id)
        block = {
            "_id": block_id,
            "issuing_body_id": body.id,
            "jurisdiction_id": actor.jurisdiction_id,
            "inspector_id": actor.user_id,
            "device_id": device_id,
            "year": numbering.year_of(now),
            "size": size,
            "numbers": {},
            "rev": 1,
            "version": 1,
            "created_at": now,
            "updated_at": now,
            **new_fields(),
        }
        try:
            collection.insert_one(block)
        except DuplicateKeyError:
            block = collection.find_one({"_id": block_id})
    if len(block["numbers"]) < block["size"]:
        _complete(block, now=now)
        block = collection.find_one({"_id": block_id})
        record.record(
            actor,
            "number_block.reserve",
            "number_block",
            block_id,
            before=None,
            after=block,
            now=now,
            chain=block["jurisdiction_id"],
            key=f"number_block.reserve:{block_id}",
        )
    return _with_id(block)


def _complete(block: dict, *, now: datetime) -> None:
    body = IssuingBody.objects(id=block["issuing_body_id"]).first()
    db = get_db()
    numbers = {}
    for slot in range(block["size"]):
        n = numbering.take(db, body.id, block["year"], key=f"block:{block['_id']}:{slot}", now=now)
        numbers[str(n)] = {
            "n": n,
            "number": numbering.format_number(body.number_format, year=block["year"], n=n),
            "state": NumberState.RESERVED,
            "order_id": None,
            "reason": None,
            "at": now,
        }
    # A concurrent call took the same numbers under the same keys: either write stands.
    NumberBlock._get_collection().update_one(
        {"_id": block["_id"], "rev": block["rev"]},
        {"$set": {"numbers": numbers, "sync_seq": None}, "$inc": {"sync_rev": 1, "rev": 1}},
    )
    mark_dirty(COLLECTION)


def check_reserved(actor: Actor, block_id: str, n: int, oid: str) -> list[dict]:
    """Why order `oid` may not carry reserved number `n` of the block (empty: it may)."""
    block = NumberBlock._get_collection().find_one({"_id": str(block_id)})
    if block is None or block["inspector_id"] != actor.user_id:
        raise NotFound(f"number block {block_id} not found")
    slot = block["numbers"].get(str(n))
    if slot is None:
        return [{"code": "NOT_RESERVED", "detail": f"{n} is not a number of this block"}]
    if slot.get("order_id") == oid:
        return []
    if slot["state"] == NumberState.RESERVED:
        # Named by another order that its job has not bound yet?
        other = Order._get_collection().find_one(
            {"reserved.block_id": block["_id"], "reserved.n": n, "_id": {"$ne": oid}},
            {"state": 1},
        )
        if other is None or other["state"] == OrderState.REFUSED:
            return []
        return [{"code": "NUMBER_USED", "detail": f"{n} is named by order {other['_id']}"}]
    return [{"code": "NUMBER_" + slot["state"].upper(), "detail": f"{n} is {slot['state']}"}]


def bind(block_id: str, n: int, oid: str, *, now: datetime) -> dict | None:
    """Mark number `n` used by order `oid` (the same on a retry); returns the slot, or None
    when the number was voided or used by another order meanwhile."""
    collection = NumberBlock._get_collection()
    while True:
        block = collection.find_one({"_id": block_id})
        slot = (block or {}).get("numbers", {}).get(str(n))
        if slot is None:
            return None
        if slot["state"] == NumberState.USED:
            return slot if slot["order_id"] == oid else None
        if slot["state"] != NumberState.RESERVED:
            return None
        used = {**slot, "state": NumberState.USED, "order_id": oid, "at": now}
        won = collection.update_one(
            {"_id": block_id, "rev": block["rev"]},
            {
                "$set": {f"numbers.{n}": used, "updated_at": now, "sync_seq": None},
                "$inc": {"rev": 1, "sync_rev": 1, "version": 1},
            },
        )
        if won.matched_count:
            mark_dirty(COLLECTION)
            return used


def block_year(block_id: str) -> int:
    return NumberBlock._get_collection().find_one({"_id": block_id}, {"year": 1})["year"]


def void(actor: Actor, block_id: str, n: int, *, reason: str, now: datetime) -> dict:
    """Void (作废) a reserved number with a reason: its owner or a supervisor."""
    collection = NumberBlock._get_collection()
    while True:
        block = collection.find_one({"_id": str(block_id)})
        if not NumberBlock.audience.allows(actor, block):
            raise NotFound(f"number block {block_id} not found")
        if actor.role not in (Role.INSPECTOR, Role.SUPERVISOR):
            raise Forbidden("numbers are voided by their inspector or a supervisor")
        slot = block["numbers"].get(str(n))
        if slot is None:
            raise NotFound(f"{n} is not a number of block {block_id}")
        if slot["state"] != NumberState.RESERVED:
            raise RuleViolation(
                f"{n} is {slot['state']}: only a reserved number is voided",
                reasons=[{"code": "NUMBER_" + slot["state"].upper()}],
            )
        voided = {**slot, "state": NumberState.VOIDED, "reason": reason, "at": now}
        won = collection.update_one(
            {"_id": block["_id"], "rev": block["rev"]},
            {
                "$set": {f"numbers.{n}": voided, "updated_at": now, "sync_seq": None},
                "$inc": {"rev": 1, "sync_rev": 1, "version": 1},
            },
        )
        if won.matched_count:
            break
    mark_dirty(COLLECTION)
    after = collection.find_one({"_id": block["_id"]})
    record.record(
        actor,
        "number_block.void",
        "number_block",
        block["_id"],
        before=block,
        after=after,
        now=now,
        chain=block["jurisdiction_id"],
        key=f"number_block.void:{block['_id']}:{n}",
    )
    return _with_id(after)


def visible(actor: Actor):
    return NumberBlock.objects.for_actor(actor).order_by("-created_at")


def read(actor: Actor, block_id: str) -> dict:
    raw = NumberBlock._get_collection().find_one({"_id": str(block_id)})
    if not NumberBlock.audience.allows(actor, raw):
        raise NotFound(f"number block {block_id} not found")
    return _with_id(raw)


def _with_id(raw: dict) -> dict:
    return {("id" if k == "_id" else k): v for k, v in raw.items()}
