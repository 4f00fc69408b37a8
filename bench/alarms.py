"""Alarm delivery benchmark (`make bench ONLY=alarms`): how soon an online page sees an alarm.

Pages and apps poll `GET /api/v1/alarms?status=open&since=<their previous poll>` every
POLL_SECONDS (short polling: see server/api/alarms.py for why not server-sent events). On one
server, with ARCHIVED closed alarms of other spaces in the collection:

- the cost of one poll, alone and with POLLERS pollers polling at once (p50/p95, HTTP layer
  in-process, so the pollers share one interpreter with the scans);
- the delay from the attendant's check-out with an entrant inside (the request sent) to each
  poller seeing the alarm it raises, over ROUNDS check-outs: p50, p95, max;
- target: delivery p95 ≤ DELIVERY_TARGET seconds (`alarm_delivery_p95`).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from mongoengine.connection import get_db

from bench.common import bench_settings, target
from bench.scan import _p, _scan_body, world
from server.app import create_app
from server.db import ensure_indexes
from server.models import DOCUMENTS
from server.models.alarm import Alarm

POLLERS = 20
POLL_SECONDS = 1.0
ROUNDS = 8
ARCHIVED = 5000
#: Polls made one after another before the pollers start: the cost of one poll alone.
ALONE = 50
DELIVERY_TARGET = 3.0


def archive(db, space_doc: dict) -> None:
    """Closed alarms of other spaces of the jurisdiction: what a poll must not pay for."""
    now = datetime.now(UTC)
    db[Alarm._get_collection_name()].insert_many(
        {
            "_id": f"bench:{i}",
            "kind": "overstay",
            "space_id": space_doc["_id"],
            "enterprise_id": space_doc["enterprise_id"],
            "jurisdiction_id": space_doc["jurisdiction_id"],
            "status": "acknowledged",
            "raised_at": now - timedelta(days=1, seconds=i),
            "created_at": now - timedelta(days=1, seconds=i),
            "updated_at": now - timedelta(days=1, seconds=i),
            "version": 2,
            "sync_rev": 2,
        }
        for i in range(ARCHIVED)
    )


def main() -> None:
    settings = bench_settings()
    app = create_app(settings)
    db = get_db()
    ensure_indexes(DOCUMENTS)
    label, attendant, workers, _actors = world(db, settings)
    archive(db, db["spaces"].find_one({}))
    client = app.test_client()
    as_attendant = {"Authorization": f"Bearer {attendant}"}

    def scan(action: str, headers: dict) -> dict:
        body = _scan_body(label, action, "bench-phone")
        return client.post("/api/v1/spaces/scan", json=body, headers=headers).get_json()

    assert scan("attendant_check_in", as_attendant)["allowed"]
    assert scan("enter", {"Authorization": f"Bearer {workers[0]}"})["allowed"]

    alone = []
    for _ in range(ALONE):
        began = time.perf_counter()
        client.get("/api/v1/alarms?status=open", headers=as_attendant)
        alone.append(time.perf_counter() - began)

    poll_costs: list[float] = []
    seen: dict[str, list[float]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def poller(i: int) -> None:
        page = app.test_client()
        # The entrants and the attendant watch their alarms: the workers' tokens.
        headers = {"Authorization": f"Bearer {workers[i % len(workers)]}"}
        since = datetime.now(UTC)
        time.sleep(POLL_SECONDS * i / POLLERS)  # pages opened at different instants
        while not stop.is_set():
            began = time.perf_counter()
            asked = datetime.now(UTC)
            reply = page.get(
                "/api/v1/alarms",
                query_string={"status": "open", "since": since.isoformat()},
                headers=headers,
            )
            now = time.perf_counter()
            with lock:
                poll_costs.append(now - began)
                for alarm in reply.get_json():
                    seen.setdefault(alarm["id"], []).append((i, now))
            since = asked - timedelta(seconds=1)  # a margin for the request in flight
            stop.wait(POLL_SECONDS)

    threads = [threading.Thread(target=poller, args=(i,)) for i in range(POLLERS)]
    for t in threads:
        t.start()
    time.sleep(POLL_SECONDS * 2)
    delays: list[float] = []
    for _ in range(ROUNDS):
        sent = time.perf_counter()
        assert scan("attendant_check_out", as_attendant)["allowed"]
        alarm_id = db["alarms"].find_one({"status": "open"}, {"_id": 1})["_id"]
        deadline = sent + 10 * POLL_SECONDS
        while time.perf_counter() < deadline:
            with lock:
                pollers = {i for i, _ in seen.get(alarm_id, ())}
            if len(pollers) == POLLERS:
                break
            time.sleep(0.05)
        with lock:
            first = {}
            for i, at in seen.get(alarm_id, ()):
                first.setdefault(i, at)
        delays += [at - sent for at in first.values()]
        missed = POLLERS - len(first)
        if missed:
            print(f"alarm {alarm_id}: {missed} pollers did not see it within 10 polls")
        url = f"/api/v1/alarms/{alarm_id}/acknowledgements"
        assert client.post(url, headers=as_attendant).status_code == 200
        assert scan("attendant_check_in", as_attendant)["allowed"]
    stop.set()
    for t in threads:
        t.join()
    print(f"one poll alone: p50 {_p(alone, 50) * 1000:.1f} ms, p95 {_p(alone, 95) * 1000:.1f} ms")
    print(
        f"{POLLERS} pollers every {POLL_SECONDS:.1f} s, {ARCHIVED} closed alarms stored: "
        f"one poll p50 {_p(poll_costs, 50) * 1000:.1f} ms, p95 {_p(poll_costs, 95) * 1000:.1f} ms "
        f"({len(poll_costs)} polls)"
    )
    print(
        f"check-out to a poller seeing the alarm, {ROUNDS} alarms x {POLLERS} pollers: "
        f"p50 {_p(delays, 50):.2f} s, p95 {_p(delays, 95):.2f} s, max {max(delays):.2f} s"
    )
    target("alarm_delivery_p95", _p(delays, 95), "<=", DELIVERY_TARGET)


if __name__ == "__main__":
    main()
