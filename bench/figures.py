"""Figures benchmark: 100k hazards (and 10k inspections) across two jurisdictions of 50
enterprises, counted into the figure cells by the follower; then a supervisor's
`GET /api/v1/figures` against one aggregate over the same hazards (what answering without
precomputed cells would cost at the least: one `$group` scan, no median, no inspections).

Also printed: the recount command's rebuild of every cell, and the follow of 500 changed
hazards.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from mongoengine.connection import get_db

from bench.common import bench_settings, target, timed
from server.actor import Role
from server.app import create_app
from server.clock import utcnow
from server.db import ensure_indexes
from server.models import DOCUMENTS
from server.models.synced import changed_fields, mark_dirty
from server.models.token import AuthToken
from server.models.user import User
from server.services.auth import token_hash
from server.services.passwords import hash_password
from sync import figures, sequencer
from tests.figures.generate import add_hazards, add_inspections, world

HAZARDS, INSPECTIONS, ENTERPRISES = 100_000, 10_000, 100


def supervisor_headers(jurisdiction_id) -> dict:
    user = User(
        username="bench-supervisor",
        display_name="基准",
        role=Role.SUPERVISOR.value,
        password_hash=hash_password("bench-password", "CHEAPEST"),
        jurisdiction_id=jurisdiction_id,
    ).save()
    token, now = secrets.token_urlsafe(24), utcnow()
    AuthToken(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=2),
    ).save()
    return {"Authorization": f"Bearer {token}"}


def one_aggregate(db, jurisdiction_id) -> list:
    pipeline = [
        {"$match": {"jurisdiction_id": jurisdiction_id}},
        {"$group": {"_id": {"level": "$level", "state": "$state"}, "n": {"$sum": 1}}},
    ]
    return list(db.hazards.aggregate(pipeline))


def main() -> None:
    settings = bench_settings()
    app = create_app(settings)
    db = get_db()
    for name in db.list_collection_names():
        db[name].delete_many({})
    ensure_indexes(DOCUMENTS)
    w = world(db, jurisdictions=2, enterprises=ENTERPRISES, seed=100)
    started = time.perf_counter()
    # Loaded as if already in the feed: the recount counts them all (sequencing 110k changes
    # first would measure the sequencer, bench/sync.py's part).
    add_hazards(db, w, HAZARDS, sequenced=True)
    add_inspections(db, w, INSPECTIONS, sequenced=True)
    inserted = time.perf_counter() - started
    print(f"inserted {HAZARDS} hazards, {INSPECTIONS} inspections: {inserted:.1f} s", flush=True)

    started = time.perf_counter()
    figures.recount(db)
    recount_s = time.perf_counter() - started
    print(
        f"recount of {HAZARDS} hazards and {INSPECTIONS} inspections: {recount_s:.1f} s", flush=True
    )

    changed = w.rng.sample(sorted(w.expect), 500)
    for hazard_id in changed:
        changes = changed_fields()
        changes["$set"]["state"] = "overdue"
        db.hazards.update_one({"_id": hazard_id}, changes)
    mark_dirty("hazards")
    started = time.perf_counter()
    sequencer.sequence_pending(db)
    sequenced = time.perf_counter() - started
    figures.follow(db)
    followed = time.perf_counter() - started - sequenced
    print(
        f"500 changed hazards: sequenced {sequenced:.2f} s, followed {followed:.2f} s", flush=True
    )

    j = w.jurisdictions[0]
    headers = supervisor_headers(j)
    client = app.test_client()
    response = client.get("/api/v1/figures", headers=headers)
    assert response.status_code == 200, response.get_json()
    counted = response.get_json()["hazards"]["hazards"]
    n_cells = db.figure_cells.count_documents({"jurisdiction_id": j})
    print(f"supervisor's jurisdiction: {counted} hazards in {n_cells} cells")
    one_aggregate(db, j)  # warm up as the endpoint was
    endpoint_s = timed(lambda: client.get("/api/v1/figures", headers=headers), repeat=5)
    aggregate_s = timed(lambda: one_aggregate(db, j), repeat=5)
    print(
        f"GET /api/v1/figures {endpoint_s * 1000:.0f} ms; "
        f"one aggregate over the hazards {aggregate_s * 1000:.0f} ms"
    )

    target("figures_ratio", endpoint_s / aggregate_s, "<=", 3)


if __name__ == "__main__":
    main()
