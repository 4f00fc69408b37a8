"""Sync benchmark (`make bench ONLY=sync`), all on one server in one run:

- push of 2,000 inspections with 30 answers each, in batches of 50, through the reference
  phone and the whole API (HTTP layer in-process), against raw `insert_many` of the same
  stored documents in the same batches of 50, in the push's order, each right after its push:
  target ≤ 1.5× (`sync_push_ratio`);
- a new device's first pull of 5,000 changes, against a raw `find` of those documents:
  target ≤ 1.5× (`sync_pull_ratio`);
- peak Python memory (tracemalloc) of both, and a profile of where push time goes.

Every timed step starts after a full garbage collection, so that neither side pays for the
objects the step before it left behind.

The shipped checklists have 16-22 items; the benchmark publishes a synthetic 30-item template
(`BX`, items borrowed from CS and HW) so that every inspection carries 30 answers.
"""

from __future__ import annotations

import cProfile
import dataclasses
import gc
import io
import pstats
import secrets
import time
import tracemalloc
from datetime import timedelta

from mongoengine.connection import get_db

from bench.common import bench_settings, peak_rss_mb, target
from checklists.answer import AnswerError, Outcome, evaluate
from checklists.loader import load_editions, load_templates
from checklists.regime import Conditions
from checklists.versions import publish, publish_editions
from server.actor import Role
from server.app import create_app
from server.clock import utcnow
from server.db import ensure_indexes
from server.models import DOCUMENTS
from server.models.device import Device
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.token import AuthToken
from server.models.user import User
from server.services.auth import token_hash
from server.services.passwords import hash_password
from sync import sequencer
from sync.client import Phone, WsgiTransport

PUSH_INSPECTIONS = 2000
PULL_CHANGES = 5000
BATCH = 50
RUNS = 3


def bench_template():
    cs, hw = load_templates()["CS"], load_templates()["HW"]
    items = [
        dataclasses.replace(item, code=f"BX-{n:02d}")
        for n, item in enumerate((cs.items + hw.items)[:30], start=1)
    ]
    sources = {**cs.sources, **hw.sources}
    return dataclasses.replace(
        cs,
        code="BX",
        items=tuple(items),
        sources=sources,
        gases={**cs.gases, **hw.gases},
        edition=1,
        changelog=(),
    )


def passing(template, item):
    """An answer that passes `item` at the benchmark's 工贸 enterprise (its default regime)."""
    rule = item.for_regime(Conditions().regime).pass_rule if not item.legacy else item.pass_rule
    bounds = [b for b in (rule.min, rule.max) if b is not None] if rule else []
    candidates = ["yes", "现场已确认", *(c.code for c in item.choices), *bounds, "na"]
    for value in candidates:
        try:
            outcome = evaluate(item, value, Conditions(), template.gases)
        except AnswerError:
            continue
        if outcome in (Outcome.PASS, Outcome.NOT_APPLICABLE):
            return value
    raise ValueError(f"no passing answer for {item.code}")


def world(db):
    for name in db.list_collection_names():
        db[name].delete_many({})
    now = utcnow()
    jurisdiction = Jurisdiction(code="310115", name="浦东").save()
    enterprise = Enterprise(
        name="基准企业",
        credit_code="91310115MA1H7AAA0F",
        industry="机械",
        address="上海",
        jurisdiction_id=jurisdiction.id,
    ).save()
    inspector = User(
        username="bench",
        display_name="基准",
        role=Role.INSPECTOR.value,
        password_hash=hash_password("bench-password", "CHEAPEST"),
        jurisdiction_id=jurisdiction.id,
    ).save()
    publish_editions(load_editions(), now=now)
    publish(bench_template(), now=now)
    return enterprise, inspector


def phone(app, inspector, device_id: str) -> Phone:
    Device(
        device_id=device_id, user_id=inspector.id, jurisdiction_id=inspector.jurisdiction_id
    ).save()
    token = secrets.token_urlsafe(24)
    now = utcnow()
    AuthToken(
        token_hash=token_hash(token),
        user_id=inspector.id,
        device_id=device_id,
        created_at=now,
        expires_at=now + timedelta(hours=2),
    ).save()
    return Phone(
        WsgiTransport(app.test_client()), token=token, device_id=device_id, batch_size=BATCH
    )


def fill(p: Phone, enterprise, n: int, answers: dict) -> None:
    for _ in range(n):
        p.create_inspection(
            enterprise_id=str(enterprise.id),
            checklist_code="BX",
            checklist_version=1,
            answers=answers,
        )


def reset_inspections(db) -> None:
    for name in (
        "inspections",
        "sync_receipts",
        "sync_log",
        "sync_state",
        "counters",
        "sync_dirty",
        "outbox",
        "bench_raw",
    ):
        db[name].delete_many({})


def traced_peak(fn) -> int:
    """Peak Python allocation while `fn` runs; a separate run, as tracing slows it down."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure_push(app, db, enterprise, inspector, answers):
    """Best of RUNS of pushing PUSH_INSPECTIONS, against the raw insert of the same documents in
    the same batches, each raw batch right after its push: on a shared machine both sides then
    meet the same load. The batches are the push's own, in its order: phones make random
    UUIDs, and 50 random keys cost the server's B-trees about twice what 50 adjacent keys do
    (the documents as `find` returns them, sorted by `_id`)."""
    best_push, best_raw = float("inf"), float("inf")
    for run in range(RUNS):
        reset_inspections(db)
        p = phone(app, inspector, f"bench-push-{run}")
        pushed = raw = 0.0
        for _ in range(PUSH_INSPECTIONS // BATCH):
            fill(p, enterprise, BATCH, answers)
            gc.collect()
            started = time.perf_counter()
            receipts = p.push()
            pushed += time.perf_counter() - started
            assert len(receipts) == BATCH
            assert all(r["status"] == "applied" for r in receipts), receipts[:1]
            ids = [r["id"] for r in receipts]
            stored = {d["_id"]: d for d in db["inspections"].find({"_id": {"$in": ids}})}
            docs = [stored[i] for i in ids]
            gc.collect()
            started = time.perf_counter()
            db["bench_raw"].insert_many(docs)
            raw += time.perf_counter() - started
        best_push, best_raw = min(best_push, pushed), min(best_raw, raw)
    reset_inspections(db)
    p = phone(app, inspector, "bench-push-traced")
    fill(p, enterprise, PUSH_INSPECTIONS, answers)
    return best_push, best_raw, traced_peak(p.push)


def measure_pull(app, db, enterprise, inspector, answers):
    reset_inspections(db)
    writer = phone(app, inspector, "bench-writer")
    fill(writer, enterprise, PULL_CHANGES, answers)
    writer.push()
    started = time.perf_counter()
    sequencer.sweep(db)
    sequencer.sequence_pending(db, wait_s=60)
    sequencing = time.perf_counter() - started
    best_pull, best_raw, changes = float("inf"), float("inf"), 0
    for run in range(RUNS):
        reader = phone(app, inspector, f"bench-reader-{run}")
        gc.collect()
        started = time.perf_counter()
        changes = reader.pull()
        best_pull = min(best_pull, time.perf_counter() - started)
        assert len(reader.server["inspections"]) == PULL_CHANGES
        del reader
        gc.collect()
        started = time.perf_counter()
        raw = list(db["inspections"].find().batch_size(500))
        best_raw = min(best_raw, time.perf_counter() - started)
        assert len(raw) == PULL_CHANGES
        del raw
    peak = traced_peak(phone(app, inspector, "bench-reader-traced").pull)
    return best_pull, best_raw, peak, sequencing, changes


def profile_push(app, db, enterprise, inspector, answers) -> str:
    reset_inspections(db)
    p = phone(app, inspector, "bench-profile")
    fill(p, enterprise, 500, answers)
    profiler = cProfile.Profile()
    profiler.enable()
    p.push()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return out.getvalue()


def main() -> None:
    settings = bench_settings()
    app = create_app(settings)
    db = get_db()
    ensure_indexes(DOCUMENTS)  # as `make run` does with `flask init-db`
    enterprise, inspector = world(db)
    template = bench_template()
    answers = {item.code: {"value": passing(template, item)} for item in template.items}

    push_s, raw_insert_s, push_peak = measure_push(app, db, enterprise, inspector, answers)
    pull_s, raw_find_s, pull_peak, sequencing_s, changes = measure_pull(
        app, db, enterprise, inspector, answers
    )
    print(
        f"push {PUSH_INSPECTIONS} inspections x 30 answers, batches of {BATCH}: "
        f"{push_s:.3f} s ({PUSH_INSPECTIONS / push_s:.0f}/s); raw insert_many {raw_insert_s:.3f} s"
    )
    print(
        f"first pull of {changes} changes: {pull_s:.3f} s; raw find {raw_find_s:.3f} s; "
        f"sequencing them beforehand {sequencing_s:.3f} s"
    )
    print(
        f"peak traced memory: push {push_peak / 2**20:.1f} MiB, pull {pull_peak / 2**20:.1f} MiB; "
        f"process peak RSS {peak_rss_mb():.0f} MiB"
    )
    print("where push time goes (500 inspections, by own time):")
    print(profile_push(app, db, enterprise, inspector, answers))
    target("sync_push_ratio", push_s / raw_insert_s, "<=", 1.5)
    target("sync_pull_ratio", pull_s / raw_find_s, "<=", 1.5)


if __name__ == "__main__":
    main()
