"""Service (送达) of an order: the enterprise representative's signature image, a refusal to sign
(recorded, SPL Art.68), or the enterprise's acknowledgement in the app, each with its time.

Deadlines run from service: each hazard of the order takes the `issue` transition with the
deadline its term gives, counted in calendar days from the day after service (民法典 Art.201)
and ending at 24:00 of that day in Asia/Shanghai (server/services/hazards/data/order.yaml).
Recording service is a compare-and-set on an order not yet served; the hazards follow, and a
repeated call (a retry after a crash in between) mends those still waiting.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from mongoengine.connection import get_db
from PIL import Image, UnidentifiedImageError

from media.blobstore import BlobStore
from server.actor import Actor, Role
from server.errors import Conflict, Forbidden, NotFound, RuleViolation
from server.models.order import Order, OrderState, ServiceKind
from server.models.synced import mark_dirty
from server.services.audit import record
from server.services.hazards import lifecycle, states
from server.services.hazards.timings import CHINA, end_of_day
from server.services.webhooks import delivery as webhook

#: A signature is a small picture of a pen stroke; anything larger is not one.
MAX_SIGNATURE_BYTES = 256 * 1024
SIGNATURE_FORMATS = ("PNG", "JPEG")
COLLECTION = Order._get_collection_name()


def deadline(served_at: datetime, term_days: int) -> datetime:
    """When a term of `term_days` calendar days from service ends."""
    day = served_at.astimezone(CHINA).date()
    return end_of_day(day + timedelta(days=term_days))


def serve(
    actor: Actor,
    oid: str,
    *,
    kind: str,
    now: datetime,
    signature: bytes | None = None,
    representative: str | None = None,
    note: str | None = None,
    device_time: datetime | None = None,
) -> dict:
    """Record how order `oid` was served; returns the order. Inspectors of the order record a
    signature or a refusal; the enterprise's manager acknowledges in the app."""
    collection = Order._get_collection()
    order = collection.find_one({"_id": str(oid)})
    if not Order.audience.allows(actor, order):
        raise NotFound(f"order {oid} not found")
    _check_who(actor, order, kind)
    if order["state"] == OrderState.SERVED:
        _start_deadlines(order, now=now)
        webhook.announce(webhook.SERVED, order, now=now)  # mends a crash after service
        if order["service"]["kind"] != kind:
            raise Conflict(f"order {oid} was served already ({order['service']['kind']})")
        return _with_id(order)
    reasons = _refusals(order, kind, signature, representative, note)
    if reasons:
        raise RuleViolation("the service cannot be recorded", reasons=reasons)
    service = {
        "kind": kind,
        "at": now,
        "by": actor.user_id,
        "role": str(actor.role),
        "device_time": device_time,
        "representative": representative,
        "note": note,
        "signature": _store_signature(signature, now=now) if signature else None,
    }
    done = collection.update_one(
        {"_id": order["_id"], "state": OrderState.ISSUED, "superseded_by": None},
        {
            "$set": {
                "state": OrderState.SERVED,
                "service": service,
                "updated_at": now,
                "sync_seq": None,
            },
            "$inc": {"sync_rev": 1, "version": 1},
        },
    )
    if not done.matched_count:
        raise Conflict(f"order {oid} changed meanwhile; reload it")
    mark_dirty(COLLECTION)
    after = collection.find_one({"_id": order["_id"]})
    record.record(
        actor,
        "order.serve",
        "order",
        order["_id"],
        before=order,
        after=after,
        now=now,
        chain=order["jurisdiction_id"],
        key=f"order.serve:{order['_id']}",
        photos=[service["signature"]] if service["signature"] else [],
    )
    _start_deadlines(after, now=now)
    webhook.announce(webhook.SERVED, after, now=now)
    return _with_id(after)


def _check_who(actor: Actor, order: dict, kind: str) -> None:
    if kind == ServiceKind.ACKNOWLEDGED:
        if actor.role is not Role.ENTERPRISE_MANAGER:
            raise Forbidden("the enterprise's manager acknowledges an order in the app")
    elif actor.user_id not in (order["inspector_id"], order["co_inspector_id"]):
        raise Forbidden("the order's inspectors record its signature or a refusal")


def _refusals(order, kind, signature, representative, note) -> list[dict]:
    reasons = []
    if order["state"] != OrderState.ISSUED:
        reasons.append({"code": "NOT_ISSUED", "detail": f"the order is {order['state']}"})
    if order.get("superseded_by"):
        reasons.append({"code": "SUPERSEDED", "detail": "a newer order corrects this one"})
    if kind == ServiceKind.SIGNED:
        if not signature:
            reasons.append({"code": "REQUIRED", "field": "signature"})
        if not representative:
            reasons.append({"code": "REQUIRED", "field": "representative"})
    if kind == ServiceKind.REFUSED and not note:
        reasons.append({"code": "REQUIRED", "field": "note"})
    if signature and kind != ServiceKind.SIGNED:
        reasons.append({"code": "NO_SIGNATURE", "detail": "only a signed service has one"})
    return reasons


def _store_signature(data: bytes, *, now: datetime) -> str:
    """Store a signature image (PNG or JPEG, bounded) and return its SHA-256."""
    if len(data) > MAX_SIGNATURE_BYTES:
        raise RuleViolation(
            f"a signature image is at most {MAX_SIGNATURE_BYTES} bytes",
            reasons=[{"code": "SIGNATURE_TOO_LARGE", "limit": MAX_SIGNATURE_BYTES}],
        )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        image_format = None
    if image_format not in SIGNATURE_FORMATS:
        raise RuleViolation(
            "a signature is a PNG or JPEG image",
            reasons=[{"code": "SIGNATURE_FORMAT", "allowed": list(SIGNATURE_FORMATS)}],
        )
    return BlobStore(get_db()).put(data, now=now, content_type=f"image/{image_format.lower()}")[
        "_id"
    ]


def _start_deadlines(order: dict, *, now: datetime) -> None:
    """Each hazard of a served order still found takes `issue` with its deadline; one under the
    order this one corrects takes `reissue`, its deadline now run from this service."""
    served_at = order["service"]["at"]
    for item in order["items"]:
        hazard = lifecycle.Hazard._get_collection().find_one(
            {"_id": item["hazard_id"]}, {"state": 1, "history": 1}
        )
        if hazard is None:
            continue
        if hazard["state"] == states.FOUND:
            action = "issue"
        elif (
            hazard["state"] in states.UNDER_ORDER
            and order.get("supersedes")
            and _current_order(hazard) == order["supersedes"]
        ):
            action = "reissue"
        else:  # taken already (a retried service), or moved on
            continue
        lifecycle.take(
            None,
            item["hazard_id"],
            action,
            {
                "deadline": deadline(served_at, item["term_days"]),
                "order_id": order["_id"],
                "order_number": order["number"],
            },
            now=now,
        )


def _current_order(hazard: dict) -> str | None:
    """The order whose service last set the hazard's deadline."""
    for entry in reversed(hazard.get("history") or ()):
        if entry.get("action") in ("issue", "reissue"):
            return entry.get("order_id")
    return None


def _with_id(raw: dict) -> dict:
    return {("id" if k == "_id" else k): v for k, v in raw.items()}
