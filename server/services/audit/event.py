"""Audit events as plain data: who did what to which object, when, from which device, in which
request, with SHA-256 digests of the object's state before and after.

Pure builders, no database: services call `event(...)` and hand the result to
`server.services.audit.record`. An event is numbered, linked and hashed only when it is
appended to its chain (`server.services.audit.chain`); before that it is a dict that can sit
in an outbox entry.

Chains: one per jurisdiction (the object's jurisdiction id), `system` for objects that belong
to none (admins, checklist versions). Digests (`digest`) cover an object's stored fields except
the bookkeeping the system moves by itself (`VOLATILE`), so anyone holding a copy of the state
can check it against the chain.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

import orjson
from bson import Decimal128, ObjectId

from server.actor import Actor
from server.logs import current_request_id
from server.services.audit import canonical

#: The chain of objects outside every jurisdiction.
SYSTEM = "system"
#: Fields left out of state digests: the change feed's and the outbox's bookkeeping, written
#: by the system after (or beside) the change itself.
VOLATILE = frozenset({"sync_seq", "sync_rev", "sync_scope", "sync_audiences", "outbox"})
ACTION = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def chain_of(jurisdiction_id) -> str:
    """The chain of an object in `jurisdiction_id` (None: the system chain)."""
    return str(jurisdiction_id) if jurisdiction_id else SYSTEM


def plain(value):
    """A stored state as canonical-JSON values: ids and decimals as strings, bytes as base64."""
    if isinstance(value, (ObjectId, uuid.UUID, Decimal128, Decimal)):
        return str(value)
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [plain(v) for v in value]
        return sorted(items, key=canonical.dumps) if isinstance(value, (set, frozenset)) else items
    if isinstance(value, str):
        return str(value)
    return value


def state(doc) -> dict | None:
    """The stored fields of a mongoengine document or a raw document (None stays None)."""
    if doc is None:
        return None
    to_mongo = getattr(doc, "to_mongo", None)
    raw = to_mongo().to_dict() if to_mongo is not None else doc
    if not isinstance(raw, Mapping):
        raise TypeError(f"a state is a document or a mapping, got {type(doc).__name__}")
    return {k: v for k, v in raw.items() if k not in VOLATILE}


def digest(doc) -> str | None:
    """SHA-256 (hex) of an object's state; None for no object.

    The state is encoded as canonical JSON is (keys sorted, compact, UTF-8; ids, decimals as
    strings, bytes as base64, times as RFC 3339 UTC milliseconds), by orjson rather than by
    `plain` + the standard library: every applied push computes two of these per mutation,
    and the Python walk cost more than the database. Only the event's own hash must be
    reproducible without this package (the verifier); a state's digest is recomputed from a
    copy of the state by this same function."""
    found = state(doc)
    if found is None:
        return None
    encoded = orjson.dumps(found, default=_scalar, option=_DIGEST_OPTIONS)
    return hashlib.sha256(encoded).hexdigest()


_DIGEST_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _scalar(value):
    """What orjson cannot encode by itself, as `plain` would encode it."""
    if isinstance(value, datetime):
        return canonical.timestamp(value)
    if isinstance(value, (set, frozenset)):
        return sorted(
            (orjson.loads(orjson.dumps(v, default=_scalar, option=_DIGEST_OPTIONS)) for v in value),
            key=canonical.dumps,
        )
    return plain(value)


def moment(value: datetime | None) -> datetime | None:
    """A time as events store it: aware UTC, truncated to milliseconds like BSON dates."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def actor_fields(actor: Actor | None) -> dict:
    """Who acted: user, role and device; a process acting on its own is role `system`."""
    if actor is None:
        return {"user_id": None, "role": SYSTEM, "device_id": None}
    return {
        "user_id": str(actor.user_id) if actor.user_id is not None else None,
        "role": str(actor.role),
        "device_id": actor.device_id,
    }


def event(
    actor: Actor | None,
    action: str,
    obj_kind: str,
    obj_id,
    *,
    before,
    after,
    now: datetime,
    device_time: datetime | None = None,
    request_id: str | None = None,
    photos: Iterable[str] = (),
    chain=None,
    key: str | None = None,
    witness=None,
) -> dict:
    """One audit event, not yet numbered.

    `before`/`after`: the object's states (documents or raw dicts; None when it did not or no
    longer exists), stored as digests. `chain`: the object's jurisdiction id (None: `system`).
    `request_id`: by default the id of the HTTP request being served, if any (server.logs).
    `key`: an idempotency key for changes that happen once (`"user.create:<id>"`), so a
    re-run records nothing new; by default each outbox entry's events get `<entry id>:<i>`.
    `witness`: an `outbox.Witness` (or its `{c, d, f, t}` dict) that must be on its document
    when the event is appended, else the change did not happen and the event is dropped.
    """
    if not ACTION.match(action):
        raise ValueError(f"action {action!r} is not '<object>.<verb>'")
    hashes = list(dict.fromkeys(photos))
    bad = [h for h in hashes if not isinstance(h, str) or not SHA256.match(h)]
    if bad:
        raise ValueError(f"photos are SHA-256 hex digests, got {bad[:3]}")
    found = {
        "chain": chain_of(chain),
        "at": moment(now),
        "device_time": moment(device_time),
        "actor": actor_fields(actor),
        "action": action,
        "object": {"kind": obj_kind, "id": str(obj_id)},
        "before": digest(before),
        "after": digest(after),
        "request_id": request_id or current_request_id(),
        "photos": hashes,
    }
    if key is not None:
        found["key"] = key
    if witness is not None:
        found["witness"] = witness.as_doc() if hasattr(witness, "as_doc") else dict(witness)
    return found
