"""`POST /api/v1/spaces/scan`: the decision on real permits, labels and rosters; replays and bad
labels refused; the roster's conditional updates; every scan an entry event, every roster
change audited; and 50 concurrent scanners on a permit of at most 8."""

from __future__ import annotations

import io
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import qrcode
from bson import ObjectId
from PIL import Image

from checklists.loader import load_gas_limits
from server.actor import Role
from server.models.audit_event import AuditEvent
from server.models.entry import EntryEvent, Roster
from server.services.spaces import labels
from tests.factories import enterprise_user
from tests.spaces.site import HAZCHEM_READINGS, READINGS, make_site
from tests.spaces.tokens import forged, read_qr, token_bytes, token_text


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def _codes(response):
    body = response.get_json()
    return [r["code"] for r in body["reasons"] if r["severity"] == "deny"]


def test_a_ready_permit_lets_the_worker_in_and_out(site, jobs):
    site.ready()
    entered = site.scan("enter")
    body = entered.get_json()
    assert body["allowed"], body
    assert (body["headcount"], body["inside"]) == (1, [site.id("worker")])
    permit = site.client.get(f"/api/v1/permits/{site.permit['id']}", headers=site.headers["worker"])
    assert permit.get_json()["status"] == "active"  # its first entry activated it
    out = site.scan("exit").get_json()
    assert (out["allowed"], out["headcount"], out["inside"]) == (True, 0, [])
    assert Roster.objects.get(id=site.space["id"]).emptied_at is not None
    assert not EntryEvent.objects(action="enter")  # written by the scan's job, after the answer
    jobs()
    events = EntryEvent.objects(space_id=site.space["id"]).order_by("at", "id")
    assert {e.gas_limits_version for e in events} == {load_gas_limits().edition}
    assert [(e.action, e.allowed) for e in events] == [
        ("attendant_check_in", True),
        ("enter", True),
        ("exit", True),
    ]
    assert [e.id for e in events][1:] == [
        ObjectId(entered.get_json()["event_id"]),
        ObjectId(out["event_id"]),
    ]
    audited = [e.action for e in AuditEvent.objects(object__kind="roster").order_by("number")]
    assert audited == ["roster.attendant_check_in", "roster.enter", "roster.exit"]


def test_a_denial_lists_every_failing_rule_in_both_languages(site, jobs):
    site.make_permit()
    site.transition("approve", capacity="principal")
    response = site.scan("enter")
    assert response.status_code == 200
    body = response.get_json()
    assert not body["allowed"]
    codes = _codes(response)
    for code in ("NO_ATTENDANT", "NO_BRIEFING", "NO_ISOLATION", "NO_PPE", "NOT_VENTILATED"):
        assert code in codes
    reason = body["reasons"][0]
    assert reason["zh-CN"] and reason["en"] and reason["source"]
    assert body["headcount"] is None and not Roster.objects.get(id=site.space["id"]).inside
    jobs()
    assert EntryEvent.objects(action="enter", allowed=False).count() == 1


def test_a_failing_gas_test_denies_until_a_passing_one(site):
    site.ready(readings={**READINGS, "H2S": {"value": 30, "unit": "ppm"}})
    assert _codes(site.scan("enter")) == ["GAS_FAIL"]
    assert site.record("gas_test", "manager", readings=READINGS).status_code == 201
    assert site.scan("enter").get_json()["allowed"]


def test_while_occupied_a_stale_monitoring_reading_denies_the_next_entrant(site):
    site.ready(test_minutes_ago=20)  # 工贸: the 30-minute window is advisory
    first = site.scan("enter").get_json()
    assert first["allowed"] and [r["code"] for r in first["reasons"]] == []
    # Occupied, the newest reading (the test) is older than the 15-minute interval.
    assert _codes(site.scan("enter", who="contractor")) == ["MONITOR_STALE"]
    readings = {"readings": READINGS, "instrument": "泵吸式四合一"}
    assert site.record("monitoring", "attendant", **readings).status_code == 201
    assert site.scan("enter", who="contractor").get_json()["allowed"]


def test_one_entry_per_worker_no_exit_without_entry_and_never_above_the_maximum(site):
    site.ready(max_headcount=1)
    assert _codes(site.scan("exit")) == ["NOT_INSIDE"]
    assert site.scan("enter").get_json()["allowed"]
    assert _codes(site.scan("enter")) == ["ALREADY_INSIDE"]
    assert "FULL" in _codes(site.scan("enter", who="contractor"))
    assert site.scan("exit").get_json()["allowed"]
    # The space emptied: 工贸 firms ventilate and test again after any break.
    assert _codes(site.scan("enter", who="contractor")) == ["RETEST_REQUIRED"]
    assert site.record("ventilation_start", "attendant").status_code == 201
    assert site.record("gas_test", "manager", readings=READINGS).status_code == 201
    # A contractor's worker (another enterprise's user) named on the permit enters.
    assert site.scan("enter", who="contractor").get_json()["allowed"]


def test_the_attendant_scans_for_an_entrant_others_may_not(site):
    site.ready()
    worker = site.id("worker")
    by_attendant = site.scan("enter", who="attendant", worker_id=worker)
    assert by_attendant.get_json()["allowed"], by_attendant.get_json()
    assert site.scan("exit", who="contractor", worker_id=worker).status_code == 403
    assert "ATTENDANT_ENTERING" in _codes(site.scan("enter", who="attendant"))


def test_an_attendant_leaving_with_entrants_inside_is_warned_and_entry_stops(site):
    site.ready()
    assert site.scan("enter").get_json()["allowed"]
    out = site.scan("attendant_check_out", who="attendant").get_json()
    assert out["allowed"]
    assert [r["code"] for r in out["reasons"]] == ["ATTENDANT_LEFT"]
    assert "NO_ATTENDANT" in _codes(site.scan("enter", who="contractor"))
    assert _codes(site.scan("attendant_check_out", who="attendant")) == ["NOT_CHECKED_IN"]
    assert _codes(site.scan("attendant_check_in", who="worker")) == ["NOT_ATTENDANT"]


def test_a_check_in_far_from_the_space_with_a_usable_fix_is_refused(site):
    site.make_permit()
    site.transition("approve", capacity="principal")
    far = {"longitude": 121.95, "latitude": 30.9, "accuracy_m": 10}
    assert _codes(site.scan("attendant_check_in", who="attendant", fix=far)) == ["LOCATION"]
    vague = {**far, "accuracy_m": 500}  # underground: no usable fix, the check-in binds
    assert site.scan("attendant_check_in", who="attendant", fix=vague).get_json()["allowed"]


def test_a_replayed_or_stale_request_is_refused(site, jobs):
    site.ready()
    nonce = uuid.uuid4().hex
    assert site.scan("enter", nonce=nonce).status_code == 200
    replay = site.scan("enter", nonce=nonce)
    assert replay.status_code == 409
    assert replay.get_json()["type"] == "/problems/conflict"
    # The same nonce from another user is their own request.
    assert site.scan("enter", who="contractor", nonce=nonce).status_code == 200
    old = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    stale = site.scan("exit", sent_at=old)
    assert stale.status_code == 422
    assert stale.get_json()["reasons"] == [{"code": "STALE_REQUEST"}]
    jobs()
    assert EntryEvent.objects(action="enter").count() == 2


def _replay(site, first, *, who="worker"):
    """Send `first`'s request again, as it was (nonce, device, time)."""
    return site.post("/api/v1/spaces/scan", first, who)


def test_a_replay_never_changes_the_roster_whatever_its_first_outcome(site, jobs):
    site.ready()
    assert site.scan("attendant_check_out", who="attendant").get_json()["allowed"]
    denied = {
        "token": site.token,
        "action": "enter",
        "nonce": uuid.uuid4().hex,
        "sent_at": datetime.now(UTC).isoformat(),
        "device_id": "phone-worker",
    }
    assert not _replay(site, denied).get_json()["allowed"]
    assert site.scan("attendant_check_in", who="attendant").get_json()["allowed"]
    # The attendant is back: the replay of the denied request would be allowed.
    assert _replay(site, denied).status_code == 409
    allowed = {**denied, "nonce": uuid.uuid4().hex}
    assert _replay(site, allowed).get_json()["allowed"]
    assert site.scan("enter", who="contractor").get_json()["allowed"]  # the space stays used
    assert site.scan("exit").get_json()["allowed"]
    # Out again: the replay of the allowed entry would be allowed too.
    assert _replay(site, allowed).status_code == 409
    roster = Roster.objects.get(id=site.space["id"])
    assert roster.inside == [site.users["contractor"].id]
    jobs()
    assert _replay(site, denied).status_code == 409  # and once its job has run
    events = EntryEvent.objects(worker_id=site.users["worker"].id, action="enter")
    assert sorted(e.allowed for e in events) == [False, True]


def _label_code(response):
    body = response.get_json()
    assert not body["allowed"]
    (reason,) = [r for r in body["reasons"] if r["code"] == "QR_INVALID"]
    return reason["detail"]


def _printed_label(site, space_id) -> str:
    """The token on the space's printed label: its PNG, decoded."""
    png = site.client.get(f"/api/v1/spaces/{space_id}/label.png", headers=site.headers["manager"])
    assert png.status_code == 200
    [text] = read_qr(Image.open(io.BytesIO(png.data)))
    return labels.token_of(text)


def _sticker(settings, token: str) -> str:
    """A forger's sticker carrying `token`, printed with qrcode, and decoded."""
    [text] = read_qr(qrcode.make(labels.url(settings.public_url, token)).get_image())
    return labels.token_of(text)


def test_tokens_read_from_printed_labels_refused_when_forged_altered_rotated_or_elsewhere(
    site, settings
):
    """The label images as phones read them: the genuine one lets the worker in once (its
    request replayed is refused); an altered or forged sticker, a malformed token, another
    space's label and a rotated-out one are refused and change nothing."""
    site.ready()
    here = site.space["id"]
    token = _printed_label(site, here)
    first = {
        "token": token,
        "action": "enter",
        "nonce": uuid.uuid4().hex,
        "sent_at": datetime.now(UTC).isoformat(),
        "device_id": "phone-worker",
    }
    assert site.post("/api/v1/spaces/scan", first, "worker").get_json()["allowed"]
    assert _replay(site, first).status_code == 409
    altered = token_bytes(token)
    altered[17] ^= 0x01  # the label version, under the signature
    sticker = _sticker(settings, token_text(altered))
    assert _label_code(site.scan("exit", token=sticker)) == labels.FORGED
    fake = forged(
        token_bytes(token)[1:5], space_id=ObjectId(here), version=1, issued=datetime.now(UTC).date()
    )
    assert _label_code(site.scan("exit", token=_sticker(settings, fake))) == labels.FORGED
    assert _label_code(site.scan("exit", token="not-a-token")) == labels.MALFORMED
    other = site.post(
        "/api/v1/spaces",
        {
            "enterprise_id": str(site.world["A"].id),
            "code": "YX-009",
            "name": "9号井",
            "type": "underground",
        },
    ).get_json()
    assert site.post(f"/api/v1/spaces/{other['id']}/label", {}).status_code == 201
    elsewhere = site.scan("exit", token=_printed_label(site, other["id"]), space_id=here)
    assert _label_code(elsewhere) == labels.OTHER_SPACE
    assert site.post(f"/api/v1/spaces/{here}/label", {}).status_code == 201
    assert _label_code(site.scan("exit", token=token)) == labels.ROTATED
    assert site.scan("exit", token=_printed_label(site, here)).get_json()["allowed"]
    roster = Roster.objects.get(id=here)
    assert (roster.inside, roster.seq) == ([], 3)  # the check-in, one entry, one exit


@pytest.mark.slow
def test_fifty_concurrent_scanners_keep_the_roster_exact(app, client, world, auth_headers, jobs):
    site = make_site(client, world, auth_headers)
    # Hazchem: a break of under 60 minutes needs no new test, so entries go on all along.
    world["A"].regime = "hazchem"
    world["A"].save()
    workers = [enterprise_user(Role.WORKER, world["A"]) for _ in range(50)]
    site.ready(
        entrants=[{"user_id": str(w.id)} for w in workers],
        max_headcount=8,
        readings=HAZCHEM_READINGS,
    )
    headers = [auth_headers(w) for w in workers]
    answers = []
    failures = []

    def scanner(i: int) -> None:
        rng = random.Random(i)
        own = app.test_client()
        try:
            for _ in range(8):
                action = rng.choice(("enter", "enter", "exit"))
                body = {
                    "token": site.token,
                    "action": action,
                    "nonce": uuid.uuid4().hex,
                    "sent_at": datetime.now(UTC).isoformat(),
                    "device_id": f"phone-{i}",
                }
                reply = own.post("/api/v1/spaces/scan", json=body, headers=headers[i])
                answers.append((reply.status_code, action, reply.get_json()))
        except Exception as error:  # noqa: BLE001 - reported below, with the thread
            failures.append((i, error))

    threads = [threading.Thread(target=scanner, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    assert {status for status, _a, _b in answers} == {200}
    allowed = [b for _s, _a, b in answers if b["allowed"]]
    assert any(b["action"] == "enter" for b in allowed)
    assert any("FULL" in [r["code"] for r in b["reasons"]] for _s, _a, b in answers)
    # Replay the event log in the roster's own order: every instant is within the rules.
    jobs()
    events = list(
        EntryEvent.objects(space_id=site.space["id"], allowed=True, action__in=["enter", "exit"])
    )
    events.sort(key=lambda e: e.roster_seq)
    seqs = [e.roster_seq for e in events]
    assert len(set(seqs)) == len(seqs)
    inside: set = set()
    for e in events:
        if e.action == "enter":
            assert e.worker_id not in inside, "double entry"
            inside.add(e.worker_id)
        else:
            assert e.worker_id in inside, "exit without entry"
            inside.remove(e.worker_id)
        assert len(inside) == e.headcount <= 8
    assert max(e.headcount for e in events) == 8  # the maximum was reached, and held
    roster = Roster.objects.get(id=site.space["id"])
    assert set(roster.inside) == inside and roster.headcount == len(inside)
    assert len(allowed) == len(events)
