"""A reviewed inspection from a phone: one with a failed item photographed in the app, pushed,
its photo sent over tus, submitted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from checklists.versions import pinned_template
from server.actor import Role
from tests.factories import EnterpriseFactory, JurisdictionFactory, regulator
from tests.media import helpers as media
from tests.sync.helpers import FAIL, failing_yes_no_item, passing_answers, phone_for

#: The enterprise's registered point (longitude, latitude), and the camera's, 1.6 km away.
SITE = (121.4737, 31.2304)


@dataclass
class Desk:
    """A jurisdiction with an enterprise, its inspector's phone and a supervisor."""

    enterprise: object
    inspector: object
    supervisor: object
    phone: object
    item: str

    def inspect(self, *, corrects: str | None = None, note: str = "井盖未锁", seed: int = 1):
        """An inspection with the failed item photographed, synced and submitted."""
        cs = pinned_template("CS", 1)
        photo = media.jpeg(media.marked_image((320 + seed, 240)), gps=(31.2304, 121.4737, 5.0))
        sha = self.phone.take_photo(photo)
        answers = passing_answers(cs)
        answers[self.item] = {"value": FAIL, "photos": [sha], "note": note}
        extra = {"corrects": corrects} if corrects else {}
        inspection_id = self.phone.create_inspection(
            enterprise_id=str(self.enterprise.id),
            checklist_code="CS",
            checklist_version=1,
            answers=answers,
            location={"longitude": SITE[0], "latitude": SITE[1], "accuracy_m": 8},
            **extra,
        )
        self.phone.submit(inspection_id)
        self.phone.sync()
        return inspection_id, sha


def desk(client, auth_headers) -> Desk:
    jurisdiction = JurisdictionFactory()
    enterprise = EnterpriseFactory(
        jurisdiction_id=jurisdiction.id, location={"type": "Point", "coordinates": list(SITE)}
    )
    inspector = regulator(Role.INSPECTOR, jurisdiction)
    supervisor = regulator(Role.SUPERVISOR, jurisdiction)
    phone = phone_for(client, inspector, auth_headers, device_id=f"rv-{uuid.uuid4().hex[:8]}")
    item = failing_yes_no_item(pinned_template("CS", 1), photo_required=True).code
    return Desk(enterprise, inspector, supervisor, phone, item)


def decision(verdict: str, version: int, reasons: dict | None = None, **extra) -> dict:
    body = {"decision_id": str(uuid.uuid4()), "verdict": verdict, "inspection_version": version}
    if reasons is not None:
        body["reasons"] = reasons
    return {**body, **extra}
