"""The conflict policy of offline sync, as code. Nothing is ever silently overwritten.

- **Optimistic versions.** Every inspection carries `version`, incremented by each accepted
  change. A phone's update, submit or delete names the `base_version` it edited; if the
  server's version differs, the mutation is a *conflict* and the receipt carries the server's
  current copy. The phone keeps its edit, shows both, and sends a new mutation (new id) based
  on the server's version if the inspector still wants it.
- **The device owns a draft until submission.** Only the inspector who created an inspection
  changes it while it is a draft, from any of their registered devices, version-checked as
  above (two phones editing one draft: the second gets a conflict).
- **The server owns it after submission.** A submitted inspection is immutable evidence: any
  later update, submit or delete is a conflict (`SUBMITTED_IMMUTABLE`), however late the
  push arrives. Corrections are new inspections whose `corrects` names the original; review
  states (later) are set by supervisors on the server only.
- **Deleted drafts stay deleted.** A change to a deleted draft is a conflict (`DELETED`); the
  phone receives the tombstone through the pull.
- **Replays are not conflicts.** A mutation id seen before returns its first receipt
  (`duplicate`), whatever happened since.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from server.actor import Actor
from server.models.inspection import Status


class Verdict(StrEnum):
    APPLY = "apply"
    CONFLICT = "conflict"
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str = ""
    detail: str = ""


APPLY = Decision(Verdict.APPLY)


def decide_change(current: dict | None, actor: Actor, base_version: int | None) -> Decision:
    """May `actor` apply an update/submit/delete based on `base_version` to `current`?

    `current` is the raw inspection as the caller is allowed to see it (None: unknown to them).
    """
    if current is None:
        return Decision(Verdict.REJECT, "NOT_FOUND", "inspection not found")
    if current.get("inspector_id") != actor.user_id:
        return Decision(
            Verdict.REJECT, "NOT_OWNER", "only the inspector who made an inspection changes it"
        )
    if current.get("deleted_at") is not None:
        return Decision(Verdict.CONFLICT, "DELETED", "the draft was deleted")
    if current.get("status") != Status.DRAFT:
        return Decision(
            Verdict.CONFLICT,
            "SUBMITTED_IMMUTABLE",
            "a submitted inspection is immutable evidence; make a correction instead",
        )
    if base_version != current.get("version"):
        return Decision(
            Verdict.CONFLICT,
            "STALE_VERSION",
            f"edited from version {base_version}, the server has version {current.get('version')}",
        )
    return APPLY
