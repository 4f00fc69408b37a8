"""The figures kept current from the change feed against a straightforward recount: a few
thousand generated hazards across enterprises, campaigns and levels (and inspections), counted
by the follower, changed, followed again, replayed from the start as a retried job would, and
rebuilt by the recount command's function; each time equal to what the test counts itself."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import timedelta

from bson import ObjectId

from server import sequence
from server.actor import Actor, Role
from server.models.figures import FigureCell
from server.models.synced import changed_fields, mark_dirty
from server.services.figures import figures
from sync import figures as follower
from sync import sequencer
from tests.figures.generate import add_hazards, add_inspections, world

ADMIN = Actor(ObjectId(), Role.ADMIN)


def expected(w, **scope) -> dict:
    """The figures of a scope, counted here from what the generator stated."""
    rows = [e for e in w.expect.values() if all(e[k] == v for k, v in scope.items())]
    n = Counter(e["counts_as"] for e in rows)
    days = [e["days"] for e in rows if e["days"] is not None]
    re = Counter(e["reinspection"] for e in rows)
    opened = n["open"] + n["overdue"]
    counted = opened + n["closed"] + n["penalized"]
    return {
        "hazards": len(rows),
        "open": opened,
        "overdue": n["overdue"],
        "closed": n["closed"],
        "penalized": n["penalized"],
        "withdrawn": n["withdrawn"],
        "repeats": sum(e["repeat"] for e in rows),
        "reinspected_on_time": re["on_time"],
        "reinspected_late": re["late"],
        "closure_rate": round(n["closed"] / counted, 4) if counted else None,
        "median_days_to_close": float(statistics.median(days)) if days else None,
    }


EXPECTED_KEYS = (
    "hazards",
    "open",
    "overdue",
    "closed",
    "penalized",
    "withdrawn",
    "repeats",
    "reinspected_on_time",
    "reinspected_late",
    "closure_rate",
    "median_days_to_close",
)


def only(found: dict) -> dict:
    return {k: found[k] for k in EXPECTED_KEYS}


def check(db, w) -> None:
    for j in w.jurisdictions:
        shown = figures.figures(db, ADMIN, jurisdiction_id=j)
        assert only(shown["hazards"]) == expected(w, jurisdiction_id=j)
        for row in shown["by_level"]:
            assert only(row) == expected(w, jurisdiction_id=j, level=row["key"]), row["key"]
        for row in shown["by_campaign"]:
            assert only(row) == expected(w, jurisdiction_id=j, campaign=row["key"]), row["key"]
        assert {r["key"] for r in shown["by_campaign"]} == {
            e["campaign"] for e in w.expect.values() if e["jurisdiction_id"] == j
        }
        counted = [i for i in w.inspections.values() if i["jurisdiction_id"] == j and i["counted"]]
        assert shown["inspections"]["inspections"] == len(counted)
        assert shown["inspections"]["unannounced"] == sum(i["unannounced"] for i in counted)
        per_inspector = Counter(str(i["inspector_id"]) for i in counted)
        assert {
            str(r["inspector_id"]): r["inspections"] for r in shown["by_inspector"]
        } == per_inspector
    for firm in w.enterprises:
        shown = figures.figures(db, ADMIN, enterprise_id=firm)
        assert only(shown["hazards"]) == expected(w, enterprise_id=firm)


def follow(db) -> None:
    sequencer.sequence_pending(db)
    follower.follow(db)
    assert follower.behind(db) == 0


def cells(db) -> dict:
    return {c["_id"]: c["totals"] for c in FigureCell._get_collection().find().batch_size(10_000)}


def test_figures_equal_a_recount_through_changes_replays_and_rebuilds(db):
    w = world(db)
    add_hazards(db, w, 3000)
    add_inspections(db, w, 400)
    follow(db)
    check(db, w)

    # Change a tenth of them as a transition would (state, level: a move to another cell).
    rng, hazards = w.rng, db.hazards
    for hazard_id in rng.sample(sorted(w.expect), 300):
        e = w.expect[hazard_id]
        changes = changed_fields()
        if rng.random() < 0.5:
            changes["$set"]["state"] = "overdue"
            e.update(counts_as="overdue", days=None)
        else:
            changes["$set"]["level"] = e["level"] = (
                "major" if e["level"] == "general" else "general"
            )
        hazards.update_one({"_id": hazard_id}, changes)
    mark_dirty("hazards")
    follow(db)
    check(db, w)
    settled = cells(db)

    # A retried or reordered job: the whole feed counted again from the start.
    db[sequence.COUNTERS].update_one({"_id": follower.CURSOR}, {"$set": {"value": 0}})
    follow(db)
    assert cells(db) == settled

    # The recount command rebuilds the same cells from nothing.
    counted = follower.recount(db)
    assert counted == {"hazards": 3000, "inspections": 400}
    assert cells(db) == settled
    check(db, w)


def test_a_hazard_leaves_the_cell_it_was_counted_in(db):
    w = world(db, jurisdictions=1, enterprises=1)
    add_hazards(db, w, 20)
    follow(db)
    hazard_id = sorted(w.expect)[0]
    before = hazard_month = db.hazards.find_one({"_id": hazard_id})["created_at"]
    changes = changed_fields()
    changes["$set"]["created_at"] = hazard_month + timedelta(days=400)  # another month's cell
    db.hazards.update_one({"_id": hazard_id}, changes)
    mark_dirty("hazards")
    follow(db)
    counted = [c for c in FigureCell._get_collection().find() if hazard_id in c["members"]]
    assert len(counted) == 1
    assert counted[0]["month"] > before.strftime("%Y-%m")
    assert sum(c["totals"]["hazards"] for c in FigureCell._get_collection().find()) == 20
