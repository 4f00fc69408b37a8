"""What a scan leaves behind (server.services.spaces.scan_log): its outbox entry is the replay
guard and the record its job writes from; a process that dies between the entry and the
roster change, or between the change and its outcome, is settled by the outbox sweep. And
the scan's own read verifies a caller let in from the tokens this process knows
(server.services.auth.RecentTokens)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId

from server.clock import utcnow
from server.models.audit_event import AuditEvent
from server.models.entry import EntryEvent, Roster
from server.models.outbox_entry import DISCARDED, OutboxEntry
from server.models.token import AuthToken
from server.models.user import User
from server.services import auth, outbox
from server.services.spaces import roster, scan_log
from tests.spaces.site import make_site


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def _claimed(site, who="worker", *, nonce=None):
    """What an allowed entry scan writes before its roster change, as the scan writes it."""
    nonce = nonce or uuid.uuid4().hex
    user = site.users[who]
    event = {
        "space_id": ObjectId(site.space["id"]),
        "enterprise_id": user.enterprise_id,
        "jurisdiction_id": user.jurisdiction_id,
        "permit_id": site.permit["id"],
        "action": "enter",
        "worker_id": user.id,
        "by": user.id,
        "device_id": f"phone-{who}",
        "nonce": f"{user.id}:phone-{who}:{nonce}",
        "allowed": None,
        "reasons": [],
        "roster_seq": None,
        "headcount": None,
        "at": utcnow(),
    }
    token = scan_log.claim(user.actor(), event, now=utcnow())
    return nonce, token, event


def _replay(site, nonce, who="worker"):
    body = {
        "token": site.token,
        "action": "enter",
        "nonce": nonce,
        "sent_at": datetime.now(UTC).isoformat(),
        "device_id": f"phone-{who}",
    }
    return site.post("/api/v1/spaces/scan", body, who)


def test_a_scan_that_died_before_its_roster_change_leaves_nothing_and_stays_a_replay(site, jobs):
    site.ready()
    nonce, token, _event = _claimed(site)
    settled = outbox.settle_pending(now=utcnow() + outbox.GRACE + timedelta(seconds=1))
    assert settled["discarded"] == 1
    assert OutboxEntry.objects.get(id=token).state == DISCARDED
    jobs()
    assert not EntryEvent.objects(action="enter")
    assert not Roster.objects.get(id=site.space["id"]).inside
    assert _replay(site, nonce).status_code == 409


def test_a_scan_that_died_after_its_roster_change_is_recorded_allowed_by_the_sweep(site, jobs):
    site.ready()
    nonce, token, event = _claimed(site)
    worker = site.users["worker"].id
    after = roster.enter(event["space_id"], worker, site.permit["id"], 8, token=token)
    assert after["inside"] == [worker]
    # No outcome was added: the sweep finds the roster's witness and makes the entry ready.
    assert outbox.settle_pending(now=utcnow())["confirmed"] == 1
    jobs()
    (recorded,) = EntryEvent.objects(action="enter")
    assert (recorded.id, recorded.allowed, recorded.roster_seq) == (event["_id"], True, None)
    assert AuditEvent.objects(action="roster.enter").count() == 1
    assert _replay(site, nonce).status_code == 409
    assert Roster.objects.get(id=site.space["id"]).inside == [worker]


def test_a_roster_that_refuses_the_change_makes_the_claim_a_denial(site, jobs):
    site.ready(max_headcount=1)
    assert site.scan("enter", who="contractor").get_json()["allowed"]
    _nonce, token, event = _claimed(site)
    assert roster.enter(event["space_id"], event["worker_id"], site.permit["id"], 1) is None
    denied = {**event, "allowed": False, "reasons": [{"code": "FULL"}]}
    scan_log.settle(token, denied, None, None, now=utcnow())
    jobs()
    (recorded,) = EntryEvent.objects(worker_id=event["worker_id"])
    assert (recorded.allowed, [r["code"] for r in recorded.reasons]) == (False, ["FULL"])
    assert AuditEvent.objects(action="roster.enter").count() == 1  # the contractor's only


def test_the_page_shows_a_decision_before_and_after_its_job_ran(site, jobs):
    site.ready()
    body = site.scan("enter").get_json()
    space_id, by = ObjectId(site.space["id"]), site.users["worker"].id
    scan_id = scan_log.entry_id(f"{by}:phone-worker:{site.nonces[-1]}")
    before = scan_log.decision(scan_id, by=by, space_id=space_id)
    jobs()
    after = scan_log.decision(scan_id, by=by, space_id=space_id)
    assert before["allowed"] is after["allowed"] is True
    assert before["_id"] == after["_id"] == ObjectId(body["event_id"])
    other = site.users["contractor"].id
    assert scan_log.decision(scan_id, by=other, space_id=space_id) is None


def _scan_as(site, who="worker"):
    return _replay(site, uuid.uuid4().hex, who)


def test_a_token_revoked_after_it_let_a_scanner_in_is_refused_with_nothing_written(site):
    site.ready()
    assert _scan_as(site).status_code == 200  # the token is now among the recent ones
    header = site.headers["worker"]["Authorization"].split()[1]
    assert auth.recent_tokens.get(auth.token_hash(header), now=utcnow()) is not None
    logout = site.client.delete("/api/v1/auth/token", headers=site.headers["worker"])
    assert logout.status_code == 204
    entries = OutboxEntry.objects.count()
    refused = _scan_as(site)
    assert refused.status_code == 401
    assert refused.get_json()["detail"] == "the token is unknown or was revoked"
    assert OutboxEntry.objects.count() == entries
    assert Roster.objects.get(id=site.space["id"]).inside == [site.users["worker"].id]


def test_a_token_revoked_elsewhere_is_told_401_before_its_body_is_judged(site):
    """Revoked by another process (this one still holds the token among its recent ones): a
    malformed, invalid or stale request is refused as unauthenticated, not described."""
    site.ready()
    assert _scan_as(site).status_code == 200
    headers = site.headers["worker"]
    digest = auth.token_hash(headers["Authorization"].split()[1])
    stale = {
        "token": site.token,
        "action": "exit",
        "nonce": uuid.uuid4().hex,
        "sent_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "device_id": "phone-worker",
    }
    invalid = {"token": site.token, "action": "fly"}

    def refusals():
        malformed = site.client.post(
            "/api/v1/spaces/scan", data="{", headers={**headers, "Content-Type": "application/json"}
        )
        return [
            malformed.status_code,
            site.post("/api/v1/spaces/scan", invalid, "worker").status_code,
            site.post("/api/v1/spaces/scan", stale, "worker").status_code,
        ]

    assert refusals() == [400, 422, 422]  # while the token is good, each is described
    AuthToken.objects(token_hash=digest).update(set__revoked_at=utcnow())
    assert auth.recent_tokens.get(digest, now=utcnow()) is not None
    assert refusals() == [401, 401, 401]
    assert Roster.objects.get(id=site.space["id"]).inside == [site.users["worker"].id]


def test_a_scanner_disabled_or_reset_meanwhile_is_refused_and_a_changed_one_read_again(site):
    site.ready()
    for who in ("worker", "contractor", "manager"):
        assert _scan_as(site, who).status_code == 200
    User.objects(id=site.users["worker"].id).update(set__active=False)
    assert _scan_as(site, "worker").status_code == 401
    User.objects(id=site.users["contractor"].id).update(set__must_change_password=True)
    reset = _scan_as(site, "contractor")
    assert reset.status_code == 403 and "password" in reset.get_json()["detail"]
    # Another role since the manager was let in: the request is resolved again, and decided.
    digest = auth.token_hash(site.headers["manager"]["Authorization"].split()[1])
    assert auth.recent_tokens.get(digest, now=utcnow())[0].role == "enterprise_manager"
    User.objects(id=site.users["manager"].id).update(set__role="worker")
    assert _scan_as(site, "manager").status_code == 200
    assert auth.recent_tokens.get(digest, now=utcnow()) is None  # dropped: it was stale
