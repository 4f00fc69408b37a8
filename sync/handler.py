"""What the push engine needs to know about one pushable collection, and the registry of them.

The engine (sync.push) owns everything that makes push trustworthy and is the same for every
collection: exactly-once effect, receipts, versions, conflicts with the server's copy, limits,
the outbox entries that go with each write. A `PushHandler` owns the rest, for its collection:
the shape of each operation's data, who may create or change a document, which states refuse
changes, and what each operation writes. Handlers call the rules of their domain (services);
the engine imports no handler: the wiring code registers them (`handlers.register`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

import marshmallow as ma
from pymongo.database import Database

from server.actor import Actor
from server.services.outbox import Job
from sync.collections import SyncedCollection
from sync.policy import Refusal

#: The operations a phone can send; a handler may accept fewer.
OPS = ("create", "update", "submit", "delete")


@dataclass(frozen=True)
class PushContext:
    """One push: who sends it, from which device, when, and how their clock compares."""

    db: Database
    actor: Actor
    device_id: str
    now: datetime
    #: Device clock minus server clock for this push, in seconds (None if not reported).
    clock_offset_s: float | None = None
    #: Offsets beyond this many seconds flag what the push writes (CLOCK_SKEW_SECONDS).
    skew_limit_s: float = 600
    #: Lookups a handler may reuse within this push (e.g. the enterprises it names).
    memo: dict = field(default_factory=dict)

    @property
    def clock_skewed(self) -> bool | None:
        """Whether the device clock was off by more than the limit (None: unknown)."""
        if self.clock_offset_s is None:
            return None
        return abs(self.clock_offset_s) > self.skew_limit_s


class PushHandler(ABC):
    """Base of the handlers: a collection must say its data schema, how a document is
    created and what a change sets; the rest has defaults (see the module docstring)."""

    #: The collection as phones name it and the feed delivers it.
    synced: SyncedCollection
    #: What one document is, in audit events (`<kind>.<op>`) and messages.
    kind: str
    ops: tuple[str, ...] = OPS
    #: Data fields fixed at creation: an update naming one is rejected.
    fixed_fields: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.synced.name

    @property
    def collection(self) -> str:
        return self.synced.collection

    @abstractmethod
    def data_schema(self, op: str) -> ma.Schema:
        """The schema of `data` for `op` (unknown fields refused)."""

    def original(self, ctx: PushContext, data: dict) -> dict | None:
        """The stored document a create is, pushed again under another id (a signed fact the
        collection recognises by its content); the create is then answered as a duplicate of
        it. None: a new document (most collections know a document only by its id)."""
        return None

    @abstractmethod
    def create(self, ctx: PushContext, data: dict) -> dict:
        """The fields of a new document (the engine adds id, version and bookkeeping);
        raise a DomainError to reject the create."""

    def refusal(self, ctx: PushContext, current: dict, op: str) -> Refusal | None:
        """Whether the actor may not change `current` (ownership, immutable states); None when
        they may. Asked before the version check, so that an immutable document answers as
        such whatever version the phone edited."""
        return None

    @abstractmethod
    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        """The fields an update, submit or delete sets; raise a DomainError to reject it."""

    def settle(self, ctx: PushContext, docs: list[dict]) -> None:
        """After the writes of a batch: mend what raced with them (documents as written)."""
        return None  # most collections have nothing to mend

    def photos(self, doc: dict) -> list[str]:
        """The photo evidence (SHA-256) a document holds, named in its audit events."""
        return []

    def device_time(self, op: str, data: dict):
        """The phone's clock at the change, as the operation reported it (audit events)."""
        return data.get("device_time")

    def audit_chain(self, doc: dict):
        """The audit chain of a document's events: its jurisdiction (None: `system`)."""
        return doc.get("jurisdiction_id")

    def receipt(self, doc: dict) -> dict:
        """Fields of this collection added to an `applied` receipt."""
        return {}

    def jobs(self, ctx: PushContext, op: str, before: dict | None, after: dict) -> list[Job]:
        """Outbox jobs this change requires, written with it (never lost, never without it)."""
        return []


class HandlerRegistry:
    """Handlers by collection name; filled by the wiring code."""

    def __init__(self) -> None:
        self._handlers: dict[str, PushHandler] = {}

    def register(self, handler: PushHandler) -> None:
        """Make a collection pushable; registering a name again replaces its handler."""
        self._handlers[handler.name] = handler

    def unregister(self, name: str) -> None:
        self._handlers.pop(name, None)

    def get(self, name: str) -> PushHandler | None:
        return self._handlers.get(name)

    def names(self) -> list[str]:
        return sorted(self._handlers)


#: The process's registry (app factory and worker register into it).
handlers = HandlerRegistry()
