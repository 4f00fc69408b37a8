"""Deliveries of order events to an enterprise's webhook, through the outbox.

`announce(event, order)` (when an order is issued or served) writes the delivery — its message
id derived from event and order, its body the order as the enterprise may read it — and
records its job under an id derived from the delivery, so a retried caller announces once.
`attempt(delivery_id)` (the `webhooks.deliver` job) signs the body per Standard Webhooks with
the endpoint's current secret and a fresh timestamp, POSTs it and records the attempt; anything
but a 2xx raises, so the outbox retries with its back-off until the configured attempts are
spent, and the delivery shows `failed`. Receivers get at least once and dedupe on
`webhook-id` (a worker dying after the POST sends it again).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path

import yaml
from pymongo.errors import DuplicateKeyError

from server.actor import Actor
from server.clock import utcnow
from server.models.webhook import DeliveryState, WebhookDelivery
from server.services import outbox
from server.services.webhooks import destination, endpoint, signature

#: The outbox job (registered in server.wiring, run by server.jobs.webhooks).
DELIVER_JOB = "webhooks.deliver"
POLICY_FILE = Path(__file__).parent / "delivery.yaml"
ISSUED, SERVED = "order.issued", "order.served"
_IDS = uuid.UUID("5d0c1e8a-7b3f-4a6e-9c21-3f8e2b7d4a10")
#: Bytes of an answer kept in an attempt's error (receivers explain failures there).
ANSWER_BYTES = 300


@dataclass(frozen=True)
class Policy:
    attempts: int
    timeout_s: float


@cache
def policy() -> Policy:
    """The attempts and timeout of deliveries (delivery.yaml)."""
    raw = yaml.safe_load(POLICY_FILE.read_text(encoding="utf-8"))
    return Policy(attempts=int(raw["attempts"]), timeout_s=float(raw["timeout_s"]))


class DeliveryError(Exception):
    """The receiver did not take the message (no answer, or not a 2xx); the outbox retries."""


def delivery_id(event: str, order_id: str) -> str:
    return "msg_" + uuid.uuid5(_IDS, f"{event}:{order_id}").hex


def announce(event: str, order: dict, *, now: datetime) -> str | None:
    """Deliver `event` about `order` (raw) to its enterprise's webhook, if it has one."""
    if endpoint.of(order["enterprise_id"]) is None:
        return None
    did = delivery_id(event, order["_id"])
    message = {"type": event, "timestamp": now.isoformat(), "data": _order_data(order)}
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        WebhookDelivery._get_collection().insert_one(
            {
                "_id": did,
                "enterprise_id": order["enterprise_id"],
                "event": event,
                "order_id": order["_id"],
                "body": body,
                "state": DeliveryState.PENDING,
                "attempts": [],
                "created_at": now,
                "delivered_at": None,
            }
        )
    except DuplicateKeyError:
        pass  # announced before (a retried job): its job is recorded under the same id
    outbox.record_once(outbox.Job(DELIVER_JOB, {"delivery_id": did}), f"webhook-{did}", now=now)
    return did


def _order_data(order: dict) -> dict:
    """What the enterprise may read of an order: what it is told to rectify and by whom."""
    service = order.get("service") or {}
    return {
        "order_id": order["_id"],
        "number": order.get("number"),
        "state": order["state"],
        "enterprise_id": str(order["enterprise_id"]),
        "issued_at": order.get("issued_at"),
        "inspectors": [
            {"name": i["name"], "certificate": i["certificate"]} for i in order["inspectors"]
        ],
        "interim_duty": order.get("interim_duty"),
        "items": [
            {
                k: item.get(k)
                for k in (
                    "hazard_id",
                    "item_code",
                    "description",
                    "place",
                    "legal_basis",
                    "level",
                    "term_days",
                    "measures",
                )
            }
            for item in order["items"]
        ],
        "service": {"kind": service["kind"], "at": service["at"]} if service else None,
        "supersedes": order.get("supersedes"),
    }


def attempt(did: str, *, allowed: tuple = (), now: datetime | None = None) -> dict:
    """One attempt at a delivery (the job's work); raises DeliveryError when it failed.
    `allowed`: the non-public networks receivers may be in (webhooks.destination)."""
    collection = WebhookDelivery._get_collection()
    delivery = collection.find_one({"_id": did})
    if delivery is None or delivery["state"] == DeliveryState.DELIVERED:
        return {"delivery": did, "state": delivery and delivery["state"]}
    hook = endpoint.of(delivery["enterprise_id"])
    now = now or utcnow()
    if hook is None:  # removed since: nothing to deliver to, nothing to retry
        collection.update_one({"_id": did}, {"$set": {"state": DeliveryState.FAILED}})
        return {"delivery": did, "state": DeliveryState.FAILED}
    status, error, took = _post(hook, did, delivery["body"].encode(), now=now, allowed=allowed)
    ok = status is not None and 200 <= status < 300
    tried = len(delivery["attempts"]) + 1
    state = (
        DeliveryState.DELIVERED
        if ok
        else DeliveryState.FAILED
        if tried >= policy().attempts
        else DeliveryState.PENDING
    )
    record = {"at": now, "url": hook["url"], "status": status, "error": error, "duration_ms": took}
    collection.update_one(
        {"_id": did},
        {
            "$push": {"attempts": record},
            "$set": {"state": state, "delivered_at": now if ok else None},
        },
    )
    if not ok:
        raise DeliveryError(f"attempt {tried}: {error}")
    return {"delivery": did, "state": state, "status": status}


def _post(hook: dict, did: str, body: bytes, *, now: datetime, allowed: tuple):
    """POST a signed body; (status or None, error or None, milliseconds)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "safety-inspection-webhooks/1",
        **signature.headers(hook["secret"], did, int(now.timestamp()), body),
    }
    request = urllib.request.Request(hook["url"], data=body, headers=headers, method="POST")
    started = time.monotonic()
    try:
        with destination.opener(allowed).open(request, timeout=policy().timeout_s) as answer:
            status, error = answer.status, None
    except urllib.error.HTTPError as exc:
        status = exc.code
        error = f"HTTP {exc.code}: {exc.read(ANSWER_BYTES).decode('utf-8', 'replace')}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        status, error = None, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    return status, error, round((time.monotonic() - started) * 1000)


def listed(actor: Actor, enterprise_id):
    """The enterprise's deliveries, newest first, for its webhook's keepers (a QuerySet)."""
    eid = endpoint.check_keeper(actor, enterprise_id)
    return WebhookDelivery.objects(enterprise_id=eid).order_by("-created_at", "id")
