"""Scan benchmark (`make bench ONLY=scan`), on one server in one run:

- 50 concurrent scanners, each a worker of one permit (maximum headcount 8) scanning to enter
  and to exit in turn, through the whole API (HTTP layer in-process, the WSGI test client of
  each thread): the latency of each scan decision, p50 and p95 (allowed or denied: a FULL
  space is a decision like any other, and every one is recorded and the allowed ones audited);
- 50 concurrent clients each doing one `find_one` and one `update_one` on the same server: the
  least a decision that records itself needs;
- target: scan p95 ≤ 3× the round trips' p95 (`scan_p95_ratio`);
- for comparison, the same scans as calls of the use case alone (no HTTP, no token lookup),
  and the MongoDB commands each kind of scan sends (counted by a pymongo CommandListener).

Both sides are warmed up first (a cold JVM, store and Python path would otherwise fall into the
scans' tail alone, as they ran first), and the timed scans and round trips alternate in
`ROUNDS` rounds (the machine is shared: its load changes within a run, and both sides should
see the same); each side's p50 and p95 are over all its rounds.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from mongoengine.connection import get_db
from pymongo import monitoring

from bench.common import bench_settings, target
from checklists.loader import load_gas_limits
from server.actor import Role
from server.app import create_app
from server.clock import utcnow
from server.db import ensure_indexes
from server.models import DOCUMENTS
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.space import Space
from server.models.token import AuthToken
from server.models.user import User
from server.services.auth import token_hash
from server.services.passwords import hash_password
from server.services.spaces import label_sheets, permits, scan

SCANNERS = 50
#: Timed scans per scanner (and round trips per client), split evenly over the rounds.
SCANS_EACH = 30
ROUNDS = 3
#: Untimed scans (and round trips) per client before the first round.
WARM_UP = 3
MAX_HEADCOUNT = 8
READINGS = {
    "O2": {"value": 20.8, "unit": "%VOL"},
    "FLAM_VOL": {"value": 0.1, "unit": "%VOL", "gas": "CH4"},
    "H2S": {"value": 1, "unit": "ppm"},
    "CO": {"value": 5, "unit": "mg/m3"},
}


def _user(role: Role, enterprise: Enterprise, name: str) -> User:
    return User(
        username=name,
        display_name=name,
        role=role.value,
        password_hash=hash_password("bench-password", "CHEAPEST"),
        jurisdiction_id=enterprise.jurisdiction_id,
        enterprise_id=enterprise.id,
    ).save()


def _token(user: User) -> str:
    token = uuid.uuid4().hex
    now = utcnow()
    AuthToken(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + timedelta(hours=2),
    ).save()
    return token


def world(db, settings):
    """A hazchem firm's space with a label and a permit ready for entry, its attendant checked
    in, and the bearer tokens of its 50 entrants."""
    for name in db.list_collection_names():
        db[name].delete_many({})
    now = utcnow()
    jurisdiction = Jurisdiction(code="310115", name="浦东").save()
    firm = Enterprise(
        name="基准化工",
        credit_code="91310115MA1H7AAA0F",
        industry="化工",
        regime="hazchem",
        address="上海",
        jurisdiction_id=jurisdiction.id,
        has_confined_spaces=True,
    ).save()
    manager = _user(Role.ENTERPRISE_MANAGER, firm, "bench-manager")
    attendant = _user(Role.WORKER, firm, "bench-attendant")
    workers = [_user(Role.WORKER, firm, f"bench-worker-{i}") for i in range(SCANNERS)]
    space = Space(
        enterprise_id=firm.id,
        jurisdiction_id=jurisdiction.id,
        code="B-1",
        name="基准储罐",
        type="enclosed_equipment",
        label_version=1,
        label_issued_at=now,
    ).save()
    actor = manager.actor()
    permit = permits.create(
        actor,
        {
            "space_id": space.id,
            "work": "清罐",
            "valid_from": now - timedelta(hours=1),
            "valid_to": now + timedelta(hours=6),
            "attendants": [attendant.id],
            "entrants": [{"user_id": w.id} for w in workers],
            "max_headcount": MAX_HEADCOUNT,
        },
        now=now,
    )
    permits.take(actor, permit["_id"], "approve", {"capacity": "principal"}, now=now, version=1)
    steps = [
        (manager, "briefing"),
        (manager, "isolation"),
        (attendant, "unlock"),
        (attendant, "ppe"),
        (attendant, "rescue_kit"),
        (attendant, "ventilation_start"),
        (manager, "gas_test"),
    ]
    for i, (who, kind) in enumerate(steps):
        data = {"permit_id": permit["_id"], "kind": kind, "at": now - timedelta(minutes=10 - i)}
        if kind == "gas_test":
            data["readings"] = READINGS
        permits.append_record(who.actor(), data, now=now)
    token = label_sheets.token(space, settings)
    return token, _token(attendant), [_token(w) for w in workers], [w.actor() for w in workers]


def _scan_body(token: str, action: str, device: str) -> dict:
    return {
        "token": token,
        "action": action,
        "nonce": uuid.uuid4().hex,
        "sent_at": datetime.now(UTC).isoformat(),
        "device_id": device,
    }


class CommandCounter(monitoring.CommandListener):
    """The MongoDB commands sent by the calling thread between `begin` and `end` (pymongo
    publishes a command's events in the thread that sends it)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def begin(self) -> None:
        self._local.n = 0

    def end(self) -> int:
        n, self._local.n = self._local.n, None
        return n

    def started(self, event) -> None:
        if getattr(self._local, "n", None) is not None:
            self._local.n += 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


COMMANDS = CommandCounter()


def measure_scans(
    app, label: str, bearers: list[str], inside: list[bool], count: int, tally: dict
) -> tuple[list[float], dict]:
    """`count` scans per scanner, each entering or leaving as `inside` says (kept up to date);
    the commands of each kind of scan go to `tally` ({kind: [commands, ...]})."""
    latencies: list[float] = []
    outcomes = {"allowed": 0, "denied": 0, "errors": 0}
    lock = threading.Lock()
    start = threading.Barrier(len(bearers))

    def scanner(i: int) -> None:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {bearers[i]}"}
        start.wait()
        for _ in range(count):
            action = "exit" if inside[i] else "enter"
            body = _scan_body(label, action, f"bench-phone-{i}")
            COMMANDS.begin()
            began = time.perf_counter()
            reply = client.post("/api/v1/spaces/scan", json=body, headers=headers)
            took = time.perf_counter() - began
            commands = COMMANDS.end()
            allowed = reply.status_code == 200 and reply.get_json()["allowed"]
            if allowed:
                inside[i] = not inside[i]
            key = "errors" if reply.status_code != 200 else "allowed" if allowed else "denied"
            with lock:
                latencies.append(took)
                outcomes[key] += 1
                tally.setdefault(f"{key} {action}", []).append(commands)

    _run(scanner, len(bearers))
    return latencies, outcomes


def measure_direct(label: str, actors: list, settings, inside_now: set) -> list[float]:
    """The same scans as calls of the use case (server.services.spaces.scan) alone."""
    keys = label_sheets.label_keys(settings)
    rules = scan.ScanSettings(keys, load_gas_limits(), timedelta(seconds=120))
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(len(actors))

    def scanner(i: int) -> None:
        inside = actors[i].user_id in inside_now
        start.wait()
        for _ in range(SCANS_EACH):
            request = scan.ScanRequest(
                token=label,
                action="exit" if inside else "enter",
                nonce=uuid.uuid4().hex,
                sent_at=utcnow(),
                device_id=f"bench-direct-{i}",
            )
            began = time.perf_counter()
            outcome = scan.scan(actors[i], request, rules, now=utcnow())
            took = time.perf_counter() - began
            if outcome["allowed"]:
                inside = not inside
            with lock:
                latencies.append(took)

    _run(scanner, len(actors))
    return latencies


def measure_round_trips(db, clients: int, count: int, tally: dict) -> list[float]:
    collection = db["bench_round_trips"]
    collection.delete_many({})
    collection.insert_many([{"_id": i, "n": 0} for i in range(clients)])
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(i: int) -> None:
        start.wait()
        for _ in range(count):
            COMMANDS.begin()
            began = time.perf_counter()
            doc = collection.find_one({"_id": i})
            collection.update_one({"_id": i, "n": doc["n"]}, {"$inc": {"n": 1}})
            took = time.perf_counter() - began
            commands = COMMANDS.end()
            with lock:
                latencies.append(took)
                tally.setdefault("round trips", []).append(commands)

    _run(client, clients)
    collection.drop()
    return latencies


def _run(fn, n: int) -> None:
    threads = [threading.Thread(target=fn, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _p(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    monitoring.register(COMMANDS)  # before the app makes its client
    settings = bench_settings()
    app = create_app(settings)
    db = get_db()
    ensure_indexes(DOCUMENTS)  # as `make run` does with `flask init-db`
    label, attendant, workers, actors = world(db, settings)
    check_in = app.test_client().post(
        "/api/v1/spaces/scan",
        json=_scan_body(label, "attendant_check_in", "bench-attendant-phone"),
        headers={"Authorization": f"Bearer {attendant}"},
    )
    assert check_in.get_json()["allowed"], check_in.get_json()
    inside = [False] * SCANNERS
    measure_scans(app, label, workers, inside, WARM_UP, {})
    measure_round_trips(db, SCANNERS, WARM_UP, {})
    scans, trips, tally = [], [], {}
    outcomes = {"allowed": 0, "denied": 0, "errors": 0}
    for _ in range(ROUNDS):
        timed, counted = measure_scans(app, label, workers, inside, SCANS_EACH // ROUNDS, tally)
        scans += timed
        outcomes = {k: outcomes[k] + counted[k] for k in outcomes}
        trips += measure_round_trips(db, SCANNERS, SCANS_EACH // ROUNDS, tally)
    roster = db["rosters"].find_one({})
    assert roster["headcount"] == sum(inside) <= MAX_HEADCOUNT, (roster["headcount"], inside)
    direct = measure_direct(label, actors, settings, set(roster["inside"]))
    print(
        f"{SCANNERS} scanners x {len(scans) // SCANNERS} scans in {ROUNDS} rounds (enter/exit in "
        f"turn, maximum {MAX_HEADCOUNT}): {outcomes['allowed']} allowed, "
        f"{outcomes['denied']} denied, {outcomes['errors']} errors; "
        f"roster at the end {roster['headcount']} inside"
    )
    print(
        "MongoDB commands per operation: "
        + ", ".join(
            f"{kind} {statistics.mean(counts):.1f} ({len(counts)})"
            for kind, counts in sorted(tally.items())
        )
    )
    print(
        f"scan decision p50 {_p(scans, 50) * 1000:.1f} ms, p95 {_p(scans, 95) * 1000:.1f} ms; "
        f"find_one + update_one p50 {_p(trips, 50) * 1000:.1f} ms, "
        f"p95 {_p(trips, 95) * 1000:.1f} ms"
    )
    print(
        f"the use case alone (no HTTP, no token lookup): p50 {_p(direct, 50) * 1000:.1f} ms, "
        f"p95 {_p(direct, 95) * 1000:.1f} ms"
    )
    target("scan_p95_ratio", _p(scans, 95) / _p(trips, 95), "<=", 3)


if __name__ == "__main__":
    main()
