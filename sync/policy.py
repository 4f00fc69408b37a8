"""The conflict policy of offline sync, as code. Nothing is ever silently overwritten.

- **Optimistic versions.** Every pushed document carries `version`, incremented by each
  accepted change. A phone's update, submit or delete names the `base_version` it edited; if
  the server's version differs, the mutation is a *conflict* and the receipt carries the
  server's current copy. The phone keeps its edit, shows both, and sends a new mutation (new
  id) based on the server's version if its user still wants it.
- **Who may change, and when, is the collection's rule** (its push handler, calling its
  domain): a refusal is either final (the caller may not make this change at all: rejected) or
  a conflict (the document is in a state that takes no more changes). For inspections: a draft
  belongs to its inspector (any of their registered devices) until submitted; a submitted
  inspection is immutable evidence, so a late push against it is a conflict
  (`SUBMITTED_IMMUTABLE`) however late it arrives, and corrections are new inspections whose
  `corrects` names the original (server.services.inspections).
- **Evidence closes with the submission.** Photos reach the server apart from the answers that
  name them (manifest first); a submitted inspection still takes every photo its answers
  name, whenever it arrives, and refuses any other (422, `evidence_named_before_closing`):
  new evidence goes with a correction (server.services.inspections.photo_link_target).
- **Deleted stays deleted.** A change to a deleted document is a conflict (`DELETED`); the
  phone receives the tombstone through the pull.
- **Replays are not conflicts.** A mutation id seen before returns its first receipt
  (`duplicate`), whatever happened since (sync.push).

The order of the checks is the order above, after "not found": a caller who may not change a
document learns nothing about its state or version.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    APPLY = "apply"
    CONFLICT = "conflict"
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Refusal:
    """A collection's reason not to apply a change: a `conflict` (the phone keeps its edit and
    is shown the server's copy) or final (`conflict=False`: the caller may not make it)."""

    reason: str
    detail: str
    conflict: bool = True


APPLY = Decision(Verdict.APPLY)


def decide_change(current: dict | None, base_version: int | None, refusal: Refusal | None):
    """May an update/submit/delete edited from `base_version` be applied to `current`?

    `current` is the raw document as the caller may see it (None: unknown to them);
    `refusal` is what the collection's handler said about this caller and this document.
    """
    if current is None:
        return Decision(Verdict.REJECT, "NOT_FOUND", "not found")
    if refusal is not None and not refusal.conflict:
        return Decision(Verdict.REJECT, refusal.reason, refusal.detail)
    if current.get("deleted_at") is not None:
        return Decision(Verdict.CONFLICT, "DELETED", "the document was deleted")
    if refusal is not None:
        return Decision(Verdict.CONFLICT, refusal.reason, refusal.detail)
    if base_version != current.get("version"):
        return Decision(
            Verdict.CONFLICT,
            "STALE_VERSION",
            f"edited from version {base_version}, the server has version {current.get('version')}",
        )
    return APPLY
