"""Whether an enterprise's confined-space work carries H2S/CO poisoning risk (the condition of
M10 Art.13's major hazards), derived from its own ledger.

While no space of the enterprise is in use, the admin's statement stands (or nothing is
known). Once one is, the spaces decide: the risk holds when one of them may hold a gas of
`poisoning_risk_gases` (checklists/data/industries.yaml). The derived value is stored on the
enterprise, where every inspection made from then on pins it (server.services.inspections);
inspections already made keep what they were judged under.
"""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from checklists.regime import industries
from server.actor import Actor
from server.models.enterprise import Enterprise
from server.models.space import Space, SpaceStatus
from server.services.audit import record

LEDGER = "ledger"
ADMIN = "admin"
#: Compare-and-set attempts before giving up to a writer that keeps changing the enterprise.
ATTEMPTS = 8


def from_ledger(enterprise_id: ObjectId) -> bool | None:
    """The risk the enterprise's spaces in use give (None: no space in use)."""
    gases = industries().poisoning_risk_gases
    in_use = False
    for space in Space._get_collection().find(
        {"enterprise_id": enterprise_id, "status": {"$ne": SpaceStatus.RETIRED}},
        {"gases": 1},
        batch_size=500,
    ):
        in_use = True
        if gases.intersection(space.get("gases") or ()):
            return True
    return False if in_use else None


def refresh(actor: Actor, enterprise_id: ObjectId, *, now: datetime) -> Enterprise:
    """Bring the enterprise's poisoning risk in line with its ledger after a change to one
    of its spaces; audited as `enterprise.poisoning_risk` when it changes.

    The ledger is read again after each write: a space changed by someone else between the
    read and the write is then seen, and the last writer leaves the value its ledger gives."""
    for _attempt in range(ATTEMPTS):
        enterprise = Enterprise.objects.get(id=enterprise_id)
        derived = from_ledger(enterprise_id)
        if derived is None:
            stated = enterprise.poisoning_risk_stated
            wanted = (stated, ADMIN if stated is not None else None)
        else:
            wanted = (derived, LEDGER)
        if (enterprise.poisoning_risk, enterprise.poisoning_risk_from) == wanted:
            return enterprise
        n = Enterprise.objects(id=enterprise.id, version=enterprise.version).update_one(
            set__poisoning_risk=wanted[0],
            set__poisoning_risk_from=wanted[1],
            set__updated_at=now,
            inc__version=1,
        )
        if n == 1:
            updated = Enterprise.objects.get(id=enterprise_id)
            record.record(
                actor,
                "enterprise.poisoning_risk",
                "enterprise",
                enterprise.id,
                before=enterprise,
                after=updated,
                now=now,
                chain=enterprise.jurisdiction_id,
            )
    return Enterprise.objects.get(id=enterprise_id)
