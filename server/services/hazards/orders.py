"""Orders to rectify (责令限期整改指令书): requested on site for chosen hazards of an inspection,
numbered by an outbox job, corrected only by a new numbered order.

1. `request(actor, inspection_id, ...)` (the inspector, with a co-inspector, when submitting
   the inspection or right after): checks everything that does not change later, stages the
   numbering job and writes the order `requested`, its id derived from the inspection (or the
   order it corrects) and the items chosen, so a repeated request finds the order it made.
   The hazards need not exist yet: the submission's findings job may not have run, and the
   numbering job registers them (idempotently) when it finds them missing.
2. `number(order_id)` (the `orders.number` job): takes the body's next number of the year
   under the order id (server.services.hazards.numbering) and writes it with the items as
   ordered (a snapshot of each hazard) in one compare-and-set; then records the render job
   under an id derived from the order. A retry, or a run after a worker died anywhere in
   between, takes no second number and makes no second order or render job. What can no
   longer be ordered (a hazard withdrawn meanwhile) refuses the order before it takes a
   number, so refusals leave no gap.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime, timedelta

from mongoengine.connection import get_db
from pymongo.errors import DuplicateKeyError

from checklists.answer import Outcome
from media import documents
from media.blobstore import BlobStore
from server.actor import Actor, Role
from server.errors import Forbidden, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.hazard import Hazard, Level
from server.models.inspection import Inspection, Status
from server.models.order import Order, OrderState
from server.models.scoping import parse_object_id
from server.models.synced import mark_dirty, new_fields
from server.models.user import User
from server.services import outbox
from server.services.audit import record
from server.services.hazards import (
    issuing,
    number_blocks,
    numbering,
    order_document,
    order_text,
    register,
    states,
)
from server.services.webhooks import delivery as webhook

log = logging.getLogger(__name__)

#: The outbox jobs of orders (registered in server.wiring, run by server.jobs.orders).
NUMBER_JOB = "orders.number"
RENDER_JOB = "orders.render"
_IDS = uuid.UUID("0b7e5a3c-2f61-4c8e-9d47-6a1f0e3b9c25")
COLLECTION = Order._get_collection_name()


def order_id(basis: str, item_codes) -> str:
    """The id of the order for these items of an inspection (or correcting an order)."""
    return str(uuid.uuid5(_IDS, f"{basis}:{','.join(sorted(item_codes))}"))


def render_entry_id(oid: str) -> str:
    """The outbox entry of an order's render job: one per order, whoever records it."""
    return f"render-{oid}"


def request(
    actor: Actor,
    inspection_id: str,
    *,
    items: list[dict],
    co_inspector_id,
    now: datetime,
    issuing_body_id=None,
    supersedes: str | None = None,
    reserved_number: dict | None = None,
) -> dict:
    """Request an order for `items` (`{item_code, term_days, measures}`) of a submitted
    inspection; returns the order as the actor may read it (numbered later by its job)."""
    if actor.role is not Role.INSPECTOR:
        raise Forbidden("orders are issued by inspectors")
    inspection = Inspection._get_collection().find_one({"_id": str(inspection_id)})
    if not Inspection.audience.allows(actor, inspection):
        raise NotFound(f"inspection {inspection_id} not found")
    oid = order_id(supersedes or inspection["_id"], [_item_key(i) for i in items])
    existing = Order._get_collection().find_one({"_id": oid})
    if existing is not None:  # the same request again (a phone's retry)
        return _with_id(existing)
    reasons = _inspection_refusals(inspection, items)
    issuer = User.objects(id=actor.user_id).first()
    co = _co_inspector(co_inspector_id, issuer, reasons)
    if not issuer.enforcement_certificate:
        reasons.append({"code": "NO_CERTIFICATE", "detail": "you hold no 执法证号"})
    previous = _superseded(supersedes, inspection, reasons) if supersedes else None
    hazard_ids = [
        i.get("hazard_id") or register.finding_id(inspection["_id"], i.get("item_code") or "")
        for i in items
    ]
    reasons += _assigned_refusals(actor, inspection, items)
    reasons += _hazard_refusals(hazard_ids, previous)
    if reserved_number:  # issued offline under a number of the device's block
        block_id, n = reserved_number["block_id"], reserved_number["n"]
        reasons += number_blocks.check_reserved(actor, block_id, n, oid)
        issuing_body_id = number_blocks.read(actor, block_id)["issuing_body_id"]
    if reasons:
        raise RuleViolation("the order cannot be issued", reasons=reasons)
    body = issuing.for_jurisdiction(inspection["jurisdiction_id"], issuing_body_id)
    [entry] = _stage_number(oid, now)
    doc = {
        "_id": oid,
        "state": OrderState.REQUESTED,
        "issuing_body_id": body.id,
        "enterprise_id": inspection["enterprise_id"],
        "jurisdiction_id": inspection["jurisdiction_id"],
        "inspection_id": inspection["_id"],
        "inspector_id": issuer.id,
        "co_inspector_id": co.id,
        "inspectors": [_named(issuer), _named(co)],
        "items": [
            {"hazard_id": h, **{k: i.get(k) for k in ("item_code", "term_days", "measures")}}
            for h, i in zip(hazard_ids, items, strict=True)
        ],
        "hazard_ids": hazard_ids,
        "interim_duty": order_text.text()["interim_duty"],
        "supersedes": supersedes,
        "reserved": reserved_number,
        "check_token": secrets.token_urlsafe(18),
        "pdf": None,
        "service": None,
        "requested_by": actor.user_id,
        "requested_at": now,
        "outbox": [entry],
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **new_fields(),
    }
    try:
        Order._get_collection().insert_one(doc)
    except DuplicateKeyError:  # the same request, concurrently: theirs stands
        outbox.discard([entry], now=now)
        return _with_id(Order._get_collection().find_one({"_id": oid}))
    mark_dirty(COLLECTION)
    outbox.confirm([entry], now=now)
    record.record(
        actor,
        "order.request",
        "order",
        oid,
        before=None,
        after=doc,
        now=now,
        chain=doc["jurisdiction_id"],
        key=f"order.request:{oid}",
    )
    return _with_id(doc)


def _stage_number(oid: str, now: datetime) -> list[str]:
    """The numbering job, pending until the order carries its entry id (the witness)."""
    entry = outbox.new_id()
    return outbox.stage(
        [outbox.Job(NUMBER_JOB, {"order_id": oid})],
        witnesses=[outbox.Witness(COLLECTION, oid, "outbox", entry)],
        now=now,
        ids=[entry],
    )


def _item_key(item: dict) -> str:
    """What an item names: a failed item of the inspection, or an assigned hazard."""
    return item.get("item_code") or f"hazard:{item.get('hazard_id')}"


def _assigned_refusals(actor: Actor, inspection: dict, items: list[dict]) -> list[dict]:
    """An item names an item code or a hazard, not both; a named hazard is assigned to the
    issuer (server.services.hazards.register.create_from_public_report) at the inspected
    enterprise: the inspection is the visit that ordered it."""
    reasons = []
    for item in items:
        if bool(item.get("item_code")) == bool(item.get("hazard_id")):
            reasons.append({"code": "ITEM", "detail": "name an item_code or a hazard_id"})
            continue
        if not item.get("hazard_id"):
            continue
        hazard = Hazard._get_collection().find_one(
            {"_id": str(item["hazard_id"])}, {"inspector_id": 1, "enterprise_id": 1}
        )
        if hazard is None or hazard.get("inspector_id") != actor.user_id:
            raise NotFound(f"hazard {item['hazard_id']} not found")
        if hazard["enterprise_id"] != inspection["enterprise_id"]:
            reasons.append(
                {"code": "OTHER_ENTERPRISE", "hazard_id": hazard["_id"], "detail": "not here"}
            )
    return reasons


def _inspection_refusals(inspection: dict, items: list[dict]) -> list[dict]:
    reasons = []
    if inspection.get("status") not in Status.FINDINGS:
        reasons.append({"code": "NOT_SUBMITTED", "detail": "the inspection is not submitted"})
    answers = inspection.get("answers") or {}
    codes = [_item_key(i) for i in items]
    if len(set(codes)) != len(codes):
        reasons.append({"code": "DUPLICATE_ITEM", "detail": "an item is named twice"})
    for code in dict.fromkeys(i["item_code"] for i in items if i.get("item_code")):
        if (answers.get(code) or {}).get("outcome") != Outcome.FAIL.value:
            reasons.append({"code": "NOT_FAILED", "item_code": code, "detail": "not a failed item"})
    low, high = order_text.term_limits()
    for item in items:
        if not low <= item["term_days"] <= high:
            reasons.append(
                {
                    "code": "TERM",
                    "item_code": _item_key(item),
                    "detail": f"a term is {low} to {high} calendar days",
                }
            )
    return reasons


def _co_inspector(co_inspector_id, issuer: User, reasons: list[dict]) -> User:
    co = User.objects(id=parse_object_id(co_inspector_id, "user")).first()
    if (
        co is None
        or co.jurisdiction_id != issuer.jurisdiction_id
        or co.role not in (Role.INSPECTOR.value, Role.SUPERVISOR.value)
        or not co.active
    ):
        raise NotFound(f"co-inspector {co_inspector_id} not found")
    if co.id == issuer.id:
        reasons.append({"code": "SAME_INSPECTOR", "detail": "an order needs two inspectors"})
    if not co.enforcement_certificate:
        reasons.append({"code": "NO_CERTIFICATE", "detail": "the co-inspector holds no 执法证号"})
    return co


def _superseded(supersedes: str, inspection: dict, reasons: list[dict]) -> dict | None:
    previous = Order._get_collection().find_one({"_id": str(supersedes)})
    if previous is None or previous["inspection_id"] != inspection["_id"]:
        raise NotFound(f"order {supersedes} not found")
    if previous["state"] not in OrderState.NUMBERED:
        reasons.append({"code": "NOT_NUMBERED", "detail": "only a numbered order is corrected"})
    elif previous.get("superseded_by"):
        reasons.append({"code": "SUPERSEDED", "detail": "that order is corrected already"})
    return previous


def _hazard_refusals(hazard_ids: list[str], previous: dict | None) -> list[dict]:
    """Each hazard is in one standing order at most, and is still to be ordered."""
    reasons = []
    allowed = {previous["_id"]} if previous else set()
    standing = Order._get_collection().find(
        {"hazard_ids": {"$in": hazard_ids}},
        {"hazard_ids": 1, "state": 1, "superseded_by": 1},
    )
    for other in standing:
        if other["_id"] in allowed or other["state"] == OrderState.REFUSED:
            continue
        if other.get("superseded_by"):
            continue
        for h in set(other["hazard_ids"]) & set(hazard_ids):
            reasons.append({"code": "ORDERED", "hazard_id": h, "order_id": other["_id"]})
    orderable = (states.FOUND, *(states.UNDER_ORDER if previous else ()))
    for hazard in Hazard._get_collection().find({"_id": {"$in": hazard_ids}}, {"state": 1}):
        if hazard["state"] not in orderable:
            reasons.append({"code": "HAZARD_STATE", "hazard_id": hazard["_id"], **hazard})
    for reason in reasons:
        reason.pop("_id", None)
    return reasons


def _named(user: User) -> dict:
    return {
        "user_id": user.id,
        "name": user.display_name,
        "certificate": user.enforcement_certificate,
    }


def number(oid: str, *, now: datetime, repeat_window: timedelta) -> dict:
    """The numbering job's work (idempotent, see the module docstring); returns a summary."""
    db = get_db()
    collection = Order._get_collection()
    order = collection.find_one({"_id": oid})
    if order is None or order["state"] == OrderState.REFUSED:
        return {"order": oid, "number": None}
    if order["state"] == OrderState.REQUESTED:
        hazards = _hazards_of(order, now=now, window=repeat_window)
        problem = _unorderable(order, hazards)
        if problem:
            _refuse(order, problem, now=now)
            return {"order": oid, "refused": problem}
        body = issuing.IssuingBody.objects(id=order["issuing_body_id"]).first()
        if order.get("reserved"):
            reserved = order["reserved"]
            slot = number_blocks.bind(reserved["block_id"], reserved["n"], oid, now=now)
            if slot is None:
                why = f"the reserved number {reserved['n']} was voided or used meanwhile"
                _refuse(order, why, now=now)
                return {"order": oid, "refused": why}
            year = number_blocks.block_year(reserved["block_id"])
            n, number_text = slot["n"], slot["number"]
        else:
            year = numbering.year_of(order["requested_at"])
            n = numbering.take(db, body.id, year, key=oid, now=now)
            number_text = numbering.format_number(body.number_format, year=year, n=n)
        items = [_ordered(item, hazards[item["hazard_id"]]) for item in order["items"]]
        sets = {
            "state": OrderState.ISSUED,
            "number": number_text,
            "seq": n,
            "year": year,
            "items": items,
            "issued_at": order["requested_at"],
            "updated_at": now,
            "sync_seq": None,
        }
        done = collection.update_one(
            {"_id": oid, "state": OrderState.REQUESTED},
            {"$set": sets, "$inc": {"sync_rev": 1, "version": 1}},
        )
        mark_dirty(COLLECTION)
        order = collection.find_one({"_id": oid})
        if done.matched_count:
            log.info("order numbered", extra={"order": oid, "number": order["number"]})
    if order.get("supersedes"):
        collection.update_one(
            {"_id": order["supersedes"], "superseded_by": None},
            {"$set": {"superseded_by": oid, "sync_seq": None}, "$inc": {"sync_rev": 1}},
        )
        mark_dirty(COLLECTION)
    record.record(
        None,
        "order.issue",
        "order",
        oid,
        before=None,
        after=order,
        now=now,
        chain=order["jurisdiction_id"],
        key=f"order.issue:{oid}",
    )
    outbox.record_once(outbox.Job(RENDER_JOB, {"order_id": oid}), render_entry_id(oid), now=now)
    webhook.announce(webhook.ISSUED, order, now=now)  # once, however often this runs
    return {"order": oid, "number": order["number"], "seq": order["seq"]}


def _hazards_of(order: dict, *, now: datetime, window: timedelta) -> dict[str, dict]:
    ids = order["hazard_ids"]
    found = {h["_id"]: h for h in Hazard._get_collection().find({"_id": {"$in": ids}})}
    if len(found) < len(ids):
        # Requested with the submission, before its findings job ran: register them now
        # (the findings job itself will find them made).
        register.register_findings(order["inspection_id"], now=now, repeat_window=window)
        found = {h["_id"]: h for h in Hazard._get_collection().find({"_id": {"$in": ids}})}
    return found


def _unorderable(order: dict, hazards: dict[str, dict]) -> str | None:
    orderable = (states.FOUND, *(states.UNDER_ORDER if order.get("supersedes") else ()))
    for hazard_id in order["hazard_ids"]:
        hazard = hazards.get(hazard_id)
        if hazard is None:
            return f"hazard {hazard_id} does not exist"
        if hazard["state"] not in orderable:
            return f"hazard {hazard_id} is {hazard['state']}"
    rival = _earlier_rival(order)
    if rival is not None:
        return f"order {rival} names the same hazards and was requested first"
    return None


def _earlier_rival(order: dict) -> str | None:
    """Another standing order for one of these hazards requested before this one (two
    requests that passed their checks at the same moment): the earlier stands, whichever job
    runs first, so both jobs judge alike."""
    mine = (order["requested_at"], order["_id"])
    others = Order._get_collection().find(
        {"hazard_ids": {"$in": order["hazard_ids"]}},
        {"state": 1, "superseded_by": 1, "requested_at": 1},
    )
    for other in others:
        if other["_id"] in (order["_id"], order.get("supersedes")):
            continue
        if other["state"] == OrderState.REFUSED or other.get("superseded_by"):
            continue
        if (other["requested_at"], other["_id"]) < mine:
            return other["_id"]
    return None


def _refuse(order: dict, why: str, *, now: datetime) -> None:
    Order._get_collection().update_one(
        {"_id": order["_id"], "state": OrderState.REQUESTED},
        {
            "$set": {"state": OrderState.REFUSED, "refused_reason": why, "updated_at": now},
            "$inc": {"sync_rev": 1, "version": 1},
        },
    )
    mark_dirty(COLLECTION)
    after = Order._get_collection().find_one({"_id": order["_id"]})
    record.record(
        None,
        "order.refuse",
        "order",
        order["_id"],
        before=order,
        after=after,
        now=now,
        chain=order["jurisdiction_id"],
        key=f"order.refuse:{order['_id']}",
    )


def _ordered(item: dict, hazard: dict) -> dict:
    """An item as the order states it: what was found, where, on which legal basis."""
    place = hazard.get("place") or {}
    return {
        **item,
        "description": hazard["description"],
        "legal_basis": list(hazard.get("legal_basis") or ()),
        "level": hazard["level"],
        "major": hazard["level"] == Level.MAJOR,
        "place": place.get("text") or "",
    }


def visible(actor: Actor, **filters):
    """The orders `actor` may read, newest first."""
    return Order.objects.for_actor(actor).filter(**filters).order_by("-created_at")


def read(actor: Actor, oid: str) -> dict:
    raw = Order._get_collection().find_one({"_id": str(oid)})
    if not Order.audience.allows(actor, raw):
        raise NotFound(f"order {oid} not found")
    return _with_id(raw)


def by_token(token: str) -> dict:
    """The order behind a check page's token (NotFound for any other string)."""
    raw = Order._get_collection().find_one({"check_token": str(token)})
    if raw is None or raw["state"] not in OrderState.NUMBERED:
        raise NotFound("no such order")
    return raw


def enterprise_name(order: dict) -> str:
    found = Enterprise._get_collection().find_one({"_id": order["enterprise_id"]}, {"name": 1})
    return (found or {}).get("name", "")


def _with_id(raw: dict) -> dict:
    return {("id" if k == "_id" else k): v for k, v in raw.items()}


def render(oid: str, *, now: datetime, public_url: str, font) -> dict:
    """The render job's work: the PDF of a numbered order, stored content-addressed and its
    hash audited; a second run finds it rendered (or renders the same bytes, stored once)."""
    collection = Order._get_collection()
    order = collection.find_one({"_id": oid})
    if order is None or order["state"] not in OrderState.NUMBERED:
        return {"order": oid, "pdf": None}
    if order.get("pdf"):
        return {"order": oid, "pdf": order["pdf"]["sha256"]}
    body = issuing.IssuingBody.objects(id=order["issuing_body_id"]).first()
    document = order_document.build(order, body, enterprise_name(order), public_url=public_url)
    data = documents.render(document, font)
    blob = BlobStore(get_db()).put(data, now=now, content_type="application/pdf")
    pdf = {"sha256": blob["_id"], "size": blob["size"], "rendered_at": now}
    collection.update_one(
        {"_id": oid, "pdf": None},
        {"$set": {"pdf": pdf, "updated_at": now, "sync_seq": None}, "$inc": {"sync_rev": 1}},
    )
    mark_dirty(COLLECTION)
    after = collection.find_one({"_id": oid})
    record.record(
        None,
        "order.render",
        "order",
        oid,
        before=order,
        after=after,
        now=now,
        chain=order["jurisdiction_id"],
        key=f"order.render:{oid}",
        photos=[after["pdf"]["sha256"]],
    )
    return {"order": oid, "pdf": after["pdf"]["sha256"]}


def pdf_bytes(actor: Actor, oid: str) -> bytes:
    """The rendered PDF of an order the actor may read; NotFound until it is rendered."""
    order = read(actor, oid)
    if not order.get("pdf"):
        raise NotFound(f"order {oid} has no PDF yet")
    return BlobStore(get_db()).read_all(order["pdf"]["sha256"])
