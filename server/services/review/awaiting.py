"""What awaits an inspector: their inspections a review returned, until a correction of each
is submitted (a correction still in draft is shown beside it: the answer is under way)."""

from __future__ import annotations

from dataclasses import dataclass

from server.actor import Actor
from server.models.inspection import Inspection, Status


@dataclass(frozen=True)
class Returned:
    inspection: dict
    #: The id of a correction being drafted (None: none yet).
    draft_correction: str | None


def returned_to(actor: Actor) -> list[Returned]:
    """The actor's own returned inspections not yet answered by a submitted correction,
    oldest decision first."""
    mine = Inspection.objects.for_actor(actor).filter(inspector_id=actor.user_id, deleted_at=None)
    returned = list(mine.filter(status=Status.RETURNED).exclude("mutation_ids").as_pymongo())
    if not returned:
        return []
    corrections = mine.filter(corrects__in=[r["_id"] for r in returned]).only(
        "id", "corrects", "status"
    )
    answered, drafts = set(), {}
    for c in corrections.as_pymongo():
        if c["status"] == Status.DRAFT:
            drafts[c["corrects"]] = c["_id"]
        else:
            answered.add(c["corrects"])
    waiting = [r for r in returned if r["_id"] not in answered]
    waiting.sort(key=lambda r: (r["review"]["at"], r["_id"]))
    return [Returned(r, drafts.get(r["_id"])) for r in waiting]
