"""Offline at the manhole: the attendant's phone decides entries with the pure rules, signs
each decision with its device key and numbers it; pushed later, the server refuses what is not
signed by that device, merges the rest into the roster in (device, sequence) order, and
flags what it finds — a permit suspended meanwhile (whatever the phone's clock says), an
entry that should have been denied, an exit without entry. A replay is a duplicate."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from mongoengine.connection import get_db

from server.actor import Role
from server.clock import utcnow
from server.jobs.spaces import resume_offline_merges
from server.models.audit_event import AuditEvent
from server.models.entry import EntryEvent, Roster
from server.models.entry_decision import EntryDecision
from server.services import device_keys
from server.services.spaces import ledger, offline, offline_merge
from sync import feed
from sync.client import Phone, WsgiTransport
from sync.handlers.entry_decision import EntryDecisionDataSchema
from tests.factories import enterprise_user
from tests.spaces.site import make_site


@pytest.fixture
def site(client, world, auth_headers):
    site = make_site(client, world, auth_headers)
    site.users["attendant2"] = enterprise_user(Role.WORKER, world["A"])
    site.headers["attendant2"] = auth_headers(site.users["attendant2"])
    return site


def _phone(site, auth_headers, who="attendant", *, key=None, device_id=None, clock=None):
    """The attendant's phone: its key bound to its device at login, the feed pulled."""
    key = key or Ed25519PrivateKey.generate()
    device_id = device_id or f"phone-{who}-0001"
    user = site.users[who]
    device_keys.bind_at_login(user, device_id, device_keys.public_key_b64(key), now=utcnow())
    token = auth_headers(user, device_id=device_id)["Authorization"].removeprefix("Bearer ")
    phone = Phone(
        WsgiTransport(site.client),
        token=token,
        device_id=device_id,
        device_signer=key.sign,
        seed=int.from_bytes(device_id.encode()[-8:]),  # its own ids, unlike another phone's
    )
    if clock is not None:
        phone.clock = clock
    phone.pull()
    return phone


def _decide(site, phone, action="enter", worker="worker", allowed=True, reasons=()):
    return phone.decide_offline(
        space_id=site.space["id"],
        permit_id=site.permit["id"],
        worker_id=site.id(worker),
        action=action,
        allowed=allowed,
        reasons=list(reasons),
        gas_limits_version=ledger.gas_limits().edition,
    )


def _flags(decision_id) -> list[str]:
    return [f["code"] for f in EntryDecision.objects.get(id=decision_id).flags]


@pytest.mark.parametrize("clock_back", [None, timedelta(hours=3)], ids=["honest", "turned_back"])
def test_an_offline_entry_on_a_permit_suspended_meanwhile_is_flagged(
    site, auth_headers, jobs, clock_back
):
    site.ready()
    clock = (lambda: datetime.now(UTC) - clock_back) if clock_back else None
    phone = _phone(site, auth_headers, clock=clock)
    assert site.permit["id"] in phone.server["permits"]  # the permit reached the phone
    assert phone.server.get("permit_records")  # and its records
    # and the roster: the attendant checked in, nobody inside yet
    roster = phone.server["rosters"][site.space["id"]]
    assert (roster["attendants"], roster["inside"]) == ([site.id("attendant")], [])
    # The phone loses signal; the manager suspends the permit; the phone lets the worker in.
    assert site.transition("suspend", reason="管道泄漏").status_code == 200
    decision_id = _decide(site, phone)
    [receipt] = phone.push()
    assert receipt["status"] == "applied", receipt
    decision = EntryDecision.objects.get(id=decision_id)
    assert decision.merge_state == "merged" and decision.flagged
    codes = _flags(decision_id)
    assert "PERMIT_SUSPENDED_MEANWHILE" in codes
    if clock_back:
        # The phone's clock said before the sync: held at the sync, and flagged.
        assert "CLOCK" in codes
        assert decision.judged_at >= decision.synced_at
    else:
        assert "SHOULD_HAVE_BEEN_DENIED" in codes
        assert "SUSPENDED" in [r["code"] for r in decision.server_reasons]
    # The worker is inside: the roster says what happened at the manhole.
    assert Roster.objects.get(id=site.space["id"]).inside == [site.users["worker"].id]
    event = EntryEvent.objects.get(offline_decision_id=decision_id)
    assert event.allowed and [f["code"] for f in event.flags] == codes
    jobs()
    assert AuditEvent.objects(action="entry_decision.flag", object__id=decision_id).count() == 1
    # The supervisor of the jurisdiction and the manager see the flagged decision in the feed.
    for who in ("supervisor", "manager"):
        page = feed.pull(get_db(), site.users[who].actor(), cursor=None, limit=500)
        mine = [c for c in page.decoded() if c["collection"] == "entry_decisions"]
        assert [c["data"]["flagged"] for c in mine] == [True], who


def test_an_offline_entry_the_server_would_also_allow_is_not_flagged(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    entered = _decide(site, phone)
    left = _decide(site, phone, "exit")
    assert [r["status"] for r in phone.push()] == ["applied", "applied"]
    for decision_id in (entered, left):
        decision = EntryDecision.objects.get(id=decision_id)
        assert (decision.merge_state, decision.flags, decision.server_allowed) == (
            "merged",
            [],
            True,
        )
    assert Roster.objects.get(id=site.space["id"]).inside == []


def test_an_exit_without_entry_is_flagged(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    decision_id = _decide(site, phone, "exit")
    phone.push()
    assert _flags(decision_id) == ["EXIT_WITHOUT_ENTRY"]


def test_forged_unsigned_and_other_device_decisions_are_rejected(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    other_key = Ed25519PrivateKey.generate()
    _phone(site, auth_headers, "attendant", key=other_key, device_id="phone-attendant-0002")
    # Signed by another device's key (of the same attendant), then by no registered key.
    for signer in (other_key.sign, Ed25519PrivateKey.generate().sign):
        phone.device_signer = signer
        _decide(site, phone)
    phone.device_signer = None
    unsigned = copy.deepcopy(phone.outbox[-1])
    unsigned["mutation_id"] = "8d3e8c44-1c1b-4c55-9d8f-6f1e8f7b2a10"
    unsigned["id"] = "8d3e8c44-1c1b-4c55-9d8f-6f1e8f7b2a11"
    del unsigned["data"]["signature"]
    elsewhere = copy.deepcopy(phone.outbox[0])
    elsewhere["mutation_id"] = "8d3e8c44-1c1b-4c55-9d8f-6f1e8f7b2a12"
    elsewhere["id"] = "8d3e8c44-1c1b-4c55-9d8f-6f1e8f7b2a13"
    elsewhere["data"]["device_id"] = "phone-attendant-0002"
    phone.outbox += [unsigned, elsewhere]
    receipts = phone.push()
    assert [r["status"] for r in receipts] == ["rejected"] * 4
    assert not any(r["retryable"] for r in receipts)
    codes = [(r["problem"].get("reasons") or [{}])[0].get("code") for r in receipts]
    assert codes == ["BAD_SIGNATURE", "BAD_SIGNATURE", None, "OTHER_DEVICE"]
    assert receipts[2]["problem"]["errors"][0]["field"] == "data.signature"
    assert EntryDecision.objects.count() == 0
    assert Roster.objects.get(id=site.space["id"]).inside == []


def test_decisions_of_two_devices_merge_in_device_sequence_order(site, auth_headers):
    site.ready(attendants=[site.id("attendant"), site.id("attendant2")])
    a = _phone(site, auth_headers, "attendant")
    b = _phone(site, auth_headers, "attendant2")
    a_in = _decide(site, a, "enter", "worker")
    a_out = _decide(site, a, "exit", "worker")
    b_in = _decide(site, b, "enter", "contractor")
    first, second = a.outbox
    a.outbox = [second]  # A's number 2 arrives first: it waits for number 1
    [receipt] = a.push()
    assert receipt["status"] == "applied"
    assert EntryDecision.objects.get(id=a_out).merge_state == "pending"
    assert Roster.objects.get(id=site.space["id"]).inside == []
    assert [r["status"] for r in b.push()] == ["applied"]
    a.outbox = [first]
    assert [r["status"] for r in a.push()] == ["applied"]
    decisions = {d.id: d for d in EntryDecision.objects}
    assert {d.merge_state for d in decisions.values()} == {"merged"}, [
        (d.device_id, d.device_seq, d.merge_state) for d in decisions.values()
    ]
    assert all(not d.flags for d in decisions.values()), [d.flags for d in decisions.values()]
    seqs = {i: decisions[i].roster_seq for i in (a_in, a_out, b_in)}
    assert seqs[a_in] < seqs[a_out]  # A's exit after A's entry, though it arrived first
    assert Roster.objects.get(id=site.space["id"]).inside == [site.users["contractor"].id]


def test_a_replayed_push_is_a_duplicate_and_a_reused_number_is_refused(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    decision_id = _decide(site, phone)
    sent = copy.deepcopy(phone.outbox)
    [first] = phone.push()
    phone.outbox = copy.deepcopy(sent)
    [again] = phone.push()
    assert (first["status"], again["status"], again.get("first_status")) == (
        "applied",
        "duplicate",
        "applied",
    )
    # Another decision under the number already used (the contractor's entry, signed).
    phone.outbox, phone.decision_seq = [], 0
    _decide(site, phone, worker="contractor")
    [refused] = phone.push()
    assert refused["status"] == "rejected"
    assert refused["problem"]["reasons"][0]["code"] == "SEQUENCE_USED"
    assert EntryDecision.objects.count() == 1
    assert EntryEvent.objects(offline_decision_id=decision_id).count() == 1
    roster = Roster.objects.get(id=site.space["id"])
    assert (roster.inside, roster.headcount) == ([site.users["worker"].id], 1)


def _under_new_id(mutation: dict) -> dict:
    """The same signed decision as the app might queue it again (a reinstall, a restored
    backup of its queue): a new document id and mutation id, the same signature."""
    return {**copy.deepcopy(mutation), "id": str(uuid.uuid4()), "mutation_id": str(uuid.uuid4())}


def test_the_same_signed_decision_under_a_new_id_is_answered_as_the_one_stored(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    decision_id = _decide(site, phone)
    (sent,) = copy.deepcopy(phone.outbox)
    [first] = phone.push()
    phone.outbox = [_under_new_id(sent)]
    [again] = phone.push()
    assert (first["status"], again["status"], again["first_status"]) == (
        "applied",
        "duplicate",
        "applied",
    )
    assert again["id"] == decision_id
    assert [d.id for d in EntryDecision.objects()] == [decision_id]
    assert EntryEvent.objects(offline_decision_id=decision_id).count() == 1
    assert Roster.objects.get(id=site.space["id"]).headcount == 1


def test_two_copies_under_new_ids_in_one_push_store_one_decision(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    _decide(site, phone)
    (sent,) = phone.outbox
    phone.outbox = [sent, _under_new_id(sent)]
    receipts = phone.push()
    assert sorted(r["status"] for r in receipts) == ["applied", "duplicate"]
    (stored,) = EntryDecision.objects()
    assert {r["id"] for r in receipts} == {stored.id}
    assert EntryEvent.objects(offline_decision_id=stored.id).count() == 1


def _claimed_by_a_merge_that_died(site, phone, mutation: dict) -> None:
    """What a merge leaves when its process is killed right after taking the decision: the
    decision stored as the push stores it, `merging`, nothing applied."""
    data = EntryDecisionDataSchema().load(mutation["data"])
    actor = site.users["attendant"].actor()
    fields = offline.new_decision(actor, phone.device_id, data, synced_seq=None, synced_at=None)
    now = utcnow()
    EntryDecision._get_collection().insert_one(
        {
            **fields,
            "_id": mutation["id"],
            "device_id": phone.device_id,
            "received_at": now,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "mutation_ids": [f"{mutation['mutation_id']}@1"],
            "sync_seq": None,
            "sync_rev": 1,
            "merge_state": "merging",
            "merging_at": now,
        }
    )


def test_a_merge_that_died_after_taking_a_decision_is_resumed_past_its_lease(site, auth_headers):
    site.ready()
    phone = _phone(site, auth_headers)
    first = _decide(site, phone)
    second = _decide(site, phone, worker="contractor")
    died, waiting = phone.outbox
    _claimed_by_a_merge_that_died(site, phone, died)
    phone.outbox = [waiting]
    assert [r["status"] for r in phone.push()] == ["applied"]
    # Number 2 waits behind number 1, which a dead merge holds.
    assert EntryDecision.objects.get(id=second).merge_state == "pending"
    limits, lease = ledger.gas_limits(), offline_merge.merge_lease()
    # Within the lease the merge may be alive: the sweep leaves it.
    assert offline_merge.resume_stalled(limits, now=utcnow(), skew_limit_s=600) == []
    later = utcnow() + lease + timedelta(seconds=1)
    resumed = offline_merge.resume_stalled(limits, now=later, skew_limit_s=600)
    assert [d["_id"] for d in resumed] == [first, second]
    for decision_id in (first, second):
        decision = EntryDecision.objects.get(id=decision_id)
        assert (decision.merge_state, decision.flags) == ("merged", []), decision.flags
        assert EntryEvent.objects(offline_decision_id=decision_id).count() == 1
    roster = Roster.objects.get(id=site.space["id"])
    assert sorted(roster.inside) == sorted([site.users["worker"].id, site.users["contractor"].id])
    # Swept again: nothing is left to merge, nothing changes.
    assert offline_merge.resume_stalled(limits, now=later, skew_limit_s=600) == []
    assert Roster.objects.get(id=site.space["id"]).seq == roster.seq


def test_a_merge_that_died_after_its_roster_change_makes_it_no_second_time(
    site, auth_headers, job_settings
):
    site.ready()
    phone = _phone(site, auth_headers)
    _decide(site, phone)
    left = _decide(site, phone, "exit")
    assert [r["status"] for r in phone.push()] == ["applied", "applied"]
    merged = EntryDecision.objects.get(id=left)
    # The process died after the exit was made on the roster, before its event and the end.
    EntryEvent._get_collection().delete_one({"offline_decision_id": left})
    claimed = utcnow() - offline_merge.merge_lease() - timedelta(seconds=1)
    EntryDecision._get_collection().update_one(
        {"_id": left},
        {
            "$set": {"merge_state": "merging", "merging_at": claimed, "flags": []},
            "$unset": {"merged_at": "", "roster_seq": "", "entry_event_id": ""},
        },
    )
    assert resume_offline_merges() == {"merged": [left]}
    again = EntryDecision.objects.get(id=left)
    assert (again.merge_state, again.flags, again.roster_seq) == ("merged", [], merged.roster_seq)
    (event,) = EntryEvent.objects(offline_decision_id=left)
    assert event.allowed and event.roster_seq == merged.roster_seq
    roster = Roster.objects.get(id=site.space["id"])
    assert (roster.inside, roster.headcount, roster.seq) == ([], 0, merged.roster_seq)
