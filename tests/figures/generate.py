"""Hazards and inspections generated straight into MongoDB, in bulk, each with the figures it
should add up to stated beside it (`expect`): what the recount test compares with and what the
figures benchmark loads. Written from the lifecycle's states (server.services.hazards.states)
by hand, not from the figures code it checks."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from server.models.synced import mark_dirty

CAMPAIGNS = ("CS", "HW", "FH", "OC", None)
LEVELS = ("general", "major")
#: state → what it counts as, written here independently of the code under test.
COUNTS_AS = {
    "found": "open",
    "issued": "open",
    "in_progress": "open",
    "interim_measures": "open",
    "extension_requested": "open",
    "reported": "open",
    "reinspection": "open",
    "failed": "open",
    "overdue": "overdue",
    "closed": "closed",
    "rectified_on_site": "closed",
    "penalty": "penalized",
    "withdrawn": "withdrawn",
}
START = datetime(2026, 1, 10, 4, 0, tzinfo=UTC)


@dataclass
class World:
    jurisdictions: list[ObjectId]
    enterprises: dict[ObjectId, ObjectId]  # enterprise → its jurisdiction
    inspectors: dict[ObjectId, list[ObjectId]]  # jurisdiction → its inspectors
    #: hazard id → {"jurisdiction_id", "enterprise_id", "campaign", "level", "counts_as",
    #: "days" (to close), "repeat", "reinspection"}
    expect: dict[str, dict] = field(default_factory=dict)
    #: inspection id → {"jurisdiction_id", "enterprise_id", "inspector_id", "counted",
    #: "unannounced"}
    inspections: dict[str, dict] = field(default_factory=dict)
    rng: random.Random = field(default_factory=random.Random)


def world(db, *, jurisdictions: int = 2, enterprises: int = 6, seed: int = 12) -> World:
    rng = random.Random(seed)
    js = [ObjectId() for _ in range(jurisdictions)]
    db.jurisdictions.insert_many(
        [{"_id": j, "code": f"{310100 + i}", "name": f"辖区{i}"} for i, j in enumerate(js)]
    )
    firms = {ObjectId(): js[i % len(js)] for i in range(enterprises)}
    db.enterprises.insert_many(
        [
            {
                "_id": e,
                "name": f"企业{i:03d}",
                "credit_code": f"91310000MA{i:08d}",
                "industry": "制造业",
                "address": "某路1号",
                "jurisdiction_id": j,
                "version": 1,
            }
            for i, (e, j) in enumerate(firms.items())
        ]
    )
    inspectors = {j: [ObjectId() for _ in range(3)] for j in js}
    return World(js, firms, inspectors, rng=rng)


def add_hazards(db, w: World, n: int, *, batch: int = 1000, sequenced: bool = False) -> None:
    """`n` hazards across the world's enterprises, campaigns, levels, months and states
    (`sequenced`: as if already in the change feed, so that only a recount counts them)."""
    rng = w.rng
    firms = list(w.enterprises)
    docs = []
    for _ in range(n):
        docs.append(_hazard(w, rng, rng.choice(firms), 0 if sequenced else None))
        if len(docs) == batch:
            db.hazards.insert_many(docs, ordered=False)
            docs = []
    if docs:
        db.hazards.insert_many(docs, ordered=False)
    mark_dirty("hazards")


def _hazard(w: World, rng: random.Random, firm: ObjectId, seq: int | None) -> dict:
    hazard_id = str(uuid.uuid4())
    created = START + timedelta(days=rng.randrange(0, 330), hours=rng.randrange(0, 12))
    state = rng.choice(list(COUNTS_AS))
    campaign, level = rng.choice(CAMPAIGNS), rng.choice(LEVELS)
    history, days, reinspection = [], None, None
    deadline = created + timedelta(days=20)
    if state in ("reinspection", "closed", "failed", "penalty") and rng.random() < 0.7:
        # reported, then re-inspected 3 days (on time) or 14 days (late) after the report:
        # the re-inspection is due by the end of the 10th day after it (15号令 Art.17).
        reported_at = created + timedelta(days=rng.randrange(1, 15))
        late = rng.random() < 0.3
        started = reported_at + timedelta(days=14 if late else 3)
        history += [
            {
                "action": "report_rectified",
                "from": "in_progress",
                "to": "reported",
                "at": reported_at,
            },
            {
                "action": "start_reinspection",
                "from": "reported",
                "to": "reinspection",
                "at": started,
            },
        ]
        reinspection = "late" if late else "on_time"
    if COUNTS_AS[state] == "closed":
        days = rng.randrange(0, 60)
        closed_at = created + timedelta(days=days, hours=rng.randrange(0, 20))
        if history and closed_at < history[-1]["at"]:
            closed_at = history[-1]["at"] + timedelta(hours=1)
            days = int((closed_at - created).total_seconds() // 86400)
        history.append({"action": "close", "from": "reinspection", "to": state, "at": closed_at})
    repeat = rng.random() < 0.1
    j = w.enterprises[firm]
    w.expect[hazard_id] = {
        "jurisdiction_id": j,
        "enterprise_id": firm,
        "campaign": campaign or "none",
        "level": level,
        "counts_as": COUNTS_AS[state],
        "days": days,
        "repeat": repeat,
        "reinspection": reinspection,
    }
    return {
        "_id": hazard_id,
        "source": "inspection" if campaign else "self_report",
        "enterprise_id": firm,
        "jurisdiction_id": j,
        "inspector_id": rng.choice(w.inspectors[j]),
        "checklist_code": campaign,
        "description": "generated",
        "level": level,
        "state": state,
        "deadline": deadline,
        "history": history,
        "repeat_of": str(uuid.uuid4()) if repeat else None,
        "version": 1,
        "created_at": created,
        "updated_at": created,
        "sync_seq": seq,
        "sync_rev": 1,
    }


def add_inspections(db, w: World, n: int, *, sequenced: bool = False) -> None:
    rng = w.rng
    docs = []
    for _ in range(n):
        firm = rng.choice(list(w.enterprises))
        j = w.enterprises[firm]
        inspector = rng.choice(w.inspectors[j])
        status = rng.choice(("draft", "submitted", "submitted", "submitted"))
        unannounced = rng.random() < 0.4
        inspection_id = str(uuid.uuid4())
        created = START + timedelta(days=rng.randrange(0, 330))
        w.inspections[inspection_id] = {
            "jurisdiction_id": j,
            "enterprise_id": firm,
            "inspector_id": inspector,
            "counted": status == "submitted",
            "unannounced": unannounced,
        }
        docs.append(
            {
                "_id": inspection_id,
                "checklist_code": "CS",
                "checklist_version": 1,
                "enterprise_id": firm,
                "jurisdiction_id": j,
                "inspector_id": inspector,
                "device_id": "generated",
                "status": status,
                "unannounced": unannounced,
                "created_at": created,
                "submitted_at": created if status == "submitted" else None,
                "received_at": created,
                "version": 1,
                "sync_seq": 0 if sequenced else None,
                "sync_rev": 1,
            }
        )
        if len(docs) == 1000:
            db.inspections.insert_many(docs, ordered=False)
            docs = []
    if docs:
        db.inspections.insert_many(docs, ordered=False)
    mark_dirty("inspections")
