"""An enterprise's webhook endpoint: set by an admin or the enterprise's own manager, who gets
the new `whsec_` secret once in the answer (every setting makes a new one)."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from bson import ObjectId

from server.actor import Actor, Role
from server.errors import Forbidden, NotFound, RuleViolation
from server.models.enterprise import Enterprise
from server.models.scoping import parse_object_id
from server.models.webhook import Webhook
from server.services.webhooks import destination, signature


def check_keeper(actor: Actor, enterprise_id) -> ObjectId:
    """The enterprise's id when `actor` keeps its webhook: NotFound outside the caller's scope,
    Forbidden for those who see the enterprise but do not keep it."""
    eid = parse_object_id(enterprise_id, "enterprise")
    raw = Enterprise._get_collection().find_one({"_id": eid})
    if not Enterprise.audience.allows(actor, raw):
        raise NotFound(f"enterprise {enterprise_id} not found")
    keeper = actor.role is Role.ADMIN or (
        actor.role is Role.ENTERPRISE_MANAGER and actor.enterprise_id == eid
    )
    if not keeper:
        raise Forbidden("an admin or the enterprise's manager keeps its webhook")
    return eid


def set_url(actor: Actor, enterprise_id, url: str, *, allowed: tuple = (), now: datetime) -> dict:
    """Point the enterprise's webhook at `url` with a fresh secret; returns it with the secret.
    A literal address outside what webhooks may reach (server.services.webhooks.destination,
    `allowed` its extra networks) is refused now; a name is checked at each delivery."""
    eid = check_keeper(actor, enterprise_id)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuleViolation(
            "a webhook is an http or https URL",
            reasons=[{"code": "URL", "field": "url", "detail": "http(s)://host/..."}],
        )
    address = destination.literal(parts.hostname)
    if address is not None and not destination.permitted(address, allowed):
        raise RuleViolation(
            "a webhook goes to a public address",
            reasons=[
                {
                    "code": "DESTINATION",
                    "field": "url",
                    "detail": f"{parts.hostname} is not a public address "
                    "(WEBHOOK_ALLOWED_NETWORKS lists private networks receivers may be in)",
                }
            ],
        )
    doc = {"url": url, "secret": signature.new_secret(), "set_by": actor.user_id, "set_at": now}
    Webhook._get_collection().replace_one({"_id": eid}, doc, upsert=True)
    return {"enterprise_id": eid, **doc}


def read(actor: Actor, enterprise_id) -> dict:
    """The enterprise's webhook without its secret."""
    eid = check_keeper(actor, enterprise_id)
    found = Webhook._get_collection().find_one({"_id": eid}, {"secret": 0})
    if found is None:
        raise NotFound(f"enterprise {enterprise_id} has no webhook")
    return {"enterprise_id": found.pop("_id"), **found}


def of(enterprise_id: ObjectId) -> dict | None:
    """The raw endpoint (with its secret) deliveries go to, None when there is none."""
    return Webhook._get_collection().find_one({"_id": enterprise_id})
