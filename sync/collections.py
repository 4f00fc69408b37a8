"""The collections phones sync, registered in one place: adding one is one entry in REGISTRY.

Each entry names the mongoengine document and how a document looks on the phone. Who may see
a document is the model's own `audience` (server.models.audience): the scope stored with every
feed entry, the feed's test of it and the fields the sequencer reads all come from it.

A phone's copy depends on its reader only through a *view*: `ALL`, or `ENTERPRISES` for an
enterprise user where the collection withholds something from firms (`enterprise_copy`, a rule
of the owning domain module). The sequencer stores each view's copy, encoded, with the
document's feed entry (`rendered`), so a pull sends them without reading the documents.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server import json_encoding
from server.actor import Actor
from server.models import (
    alarm,
    checklist,
    enterprise,
    entry,
    entry_decision,
    gas_limits,
    hazard,
    inspection,
    label_key,
    notification,
    number_block,
    order,
    permit,
    review_decision,
    space,
    violation,
)
from server.models.audience import Audience
from server.services import inspections
from server.services.hazards import lifecycle as hazards

#: Fields never sent to phones: bookkeeping of the feed and of idempotent push.
HIDDEN = frozenset(
    {"sync_seq", "sync_rev", "sync_scope", "sync_audiences", "mutation_ids", "outbox", "_cls"}
)
#: Hidden fields the sequencer needs not read either (they can grow with a document's history).
UNREAD = frozenset({"mutation_ids", "outbox"})

#: The views of a document (see the module's docstring).
ALL, ENTERPRISES = "all", "enterprises"
#: The edition of the rules that shape a phone's copy: HIDDEN, each collection's `omit`,
#: `extra` and `enterprise_copy` (with the domain rules it calls). A feed entry stores its
#: copies under `<view>-<edition>`, so after a bump the entries written before are answered
#: from the documents, never from a copy made under the old rules (tests/sync/
#: test_copy_rules.py fails on a change of the rules until the edition is bumped).
COPY_EDITION = 1


def copy_key(view: str) -> str:
    """Where a feed entry keeps its copy in `view` (in its `v`)."""
    return f"{view}-{COPY_EDITION}"


COPY_KEYS = frozenset({copy_key(ALL), copy_key(ENTERPRISES)})


@dataclass(frozen=True)
class SyncedCollection:
    name: str
    document: type
    #: Fields left out of the phone's copy (large or server-only).
    omit: frozenset[str] = frozenset()
    #: Extra fields computed for the phone from the raw document.
    extra: Callable[[dict], dict] | None = None
    #: What enterprise users may read of a document they may see (raw in, raw out); None
    #: when they read all of it, as everyone else does.
    enterprise_copy: Callable[[dict], dict] | None = None

    @property
    def collection(self) -> str:
        return self.document._get_collection_name()

    @property
    def audience(self) -> Audience:
        return self.document.audience

    @property
    def scope_fields(self) -> tuple[str, ...]:
        """Fields the sequencer reads to compute a scope (beyond _id and the sync fields)."""
        return tuple(f for f in self.audience.fields if f != "_id")

    @property
    def projection(self) -> dict[str, int]:
        """What a pull reads of a document: everything the phone's copy is made from."""
        return {f: 0 for f in sorted(HIDDEN | self.omit)}

    def scope(self, raw: dict) -> dict:
        """The audience of a document as stored with its feed entry."""
        return self.audience.scope(raw)

    def visible(self, actor: Actor, scope: dict) -> bool:
        return self.audience.visible(actor, scope)

    @property
    def sequencing_projection(self) -> dict[str, int]:
        """What the sequencer reads of a document: its scope, sync fields and phone copy."""
        return {f: 0 for f in sorted(UNREAD | self.omit)}

    def view_of(self, actor: Actor | None) -> str:
        """Which copy of this collection's documents `actor` reads."""
        if actor is not None and self.enterprise_copy is not None and actor.is_enterprise_user:
            return ENTERPRISES
        return ALL

    def copy_key_of(self, actor: Actor | None) -> str:
        """Where `actor`'s copy of this collection's documents is kept in a feed entry."""
        return copy_key(self.view_of(actor))

    def to_phone(self, raw: dict, actor: Actor | None = None) -> dict:
        """The copy `actor`'s phone stores (BSON values are left for the JSON encoder)."""
        return self._copy(raw, self.view_of(actor))

    def rendered(self, raw: dict) -> dict[str, bytes]:
        """Every view's copy of a document, encoded as the API writes JSON, by copy key."""
        views = (ALL, ENTERPRISES) if self.enterprise_copy is not None else (ALL,)
        return {copy_key(view): json_encoding.dumps(self._copy(raw, view)) for view in views}

    def _copy(self, raw: dict, view: str) -> dict:
        if view == ENTERPRISES:
            raw = self.enterprise_copy(raw)
        out = {
            ("id" if k == "_id" else k): v
            for k, v in raw.items()
            if k not in HIDDEN and k not in self.omit
        }
        if self.extra:
            out.update(self.extra(raw))
        return out


def _checklist_links(raw: dict) -> dict:
    return {"url": f"/api/v1/checklists/{raw['code']}/versions/{raw['version']}"}


REGISTRY: tuple[SyncedCollection, ...] = (
    SyncedCollection(
        name="checklist_versions",
        document=checklist.ChecklistVersion,
        # The phone downloads the content from the versioned URL (ETag-cached, immutable).
        omit=frozenset({"content", "localized"}),
        extra=_checklist_links,
    ),
    SyncedCollection(
        name="gas_limit_versions",
        document=gas_limits.GasLimitsVersion,
        # The whole rules: a phone decides confined-space entries offline with them.
    ),
    # The public keys that verify QR labels: the app verifies a label offline with them.
    SyncedCollection(name="label_keys", document=label_key.LabelKeyRecord),
    SyncedCollection(
        name="enterprises",
        document=enterprise.Enterprise,
    ),
    SyncedCollection(
        name="inspections",
        document=inspection.Inspection,
        enterprise_copy=inspections.for_enterprises,
    ),
    SyncedCollection(name="spaces", document=space.Space),
    SyncedCollection(
        name="hazards",
        document=hazard.Hazard,
        enterprise_copy=hazards.for_enterprises,
    ),
    # The inspectors' and the enterprise's copy of an order (the check token is printed on
    # it anyway).
    SyncedCollection(name="orders", document=order.Order),
    # The numbers an inspector's device holds for orders issued offline.
    SyncedCollection(
        name="number_blocks", document=number_block.NumberBlock, omit=frozenset({"rev"})
    ),
    SyncedCollection(name="notifications", document=notification.Notification),
    SyncedCollection(name="permits", document=permit.Permit),
    SyncedCollection(name="permit_records", document=permit.PermitRecord),
    # Who is inside and which attendants are checked in: the attendant's phone decides
    # entries offline on it.
    SyncedCollection(name="rosters", document=entry.Roster, omit=frozenset({"merged"})),
    SyncedCollection(name="alarms", document=alarm.Alarm),
    # Entry decisions made offline at the manhole, with what their merge flagged.
    SyncedCollection(
        name="entry_decisions",
        document=entry_decision.EntryDecision,
        # The merge's own progress is the server's.
        omit=frozenset({"signature", "merging_at", "merge_plan", "merge_after"}),
    ),
    # A supervisor's approval or return of an inspection: the inspector answers a return.
    SyncedCollection(name="review_decisions", document=review_decision.ReviewDecision),
    # Violations at the firm's spaces, for its manager's and the supervisors' apps.
    SyncedCollection(name="violations", document=violation.Violation),
)

BY_NAME = {c.name: c for c in REGISTRY}
BY_COLLECTION = {c.collection: c for c in REGISTRY}
