"""The canonical encoding, state digests and head signatures: pure functions, no servers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from bson import ObjectId

from server.actor import Actor, Role
from server.logs import REQUEST_ID
from server.services.audit import canonical, event, signing
from tests.environment import AUDIT_KEY


def test_canonical_json_is_sorted_compact_utf8_with_millisecond_utc_times():
    shanghai = timezone(timedelta(hours=8))
    value = {
        "b": [1, None, True],
        "a": "检查",
        "t": datetime(2026, 5, 1, 18, 0, 0, 123456, shanghai),
    }
    assert canonical.dumps(value) == (
        '{"a":"检查","b":[1,null,true],"t":"2026-05-01T10:00:00.123Z"}'.encode()
    )
    assert canonical.timestamp(datetime(5, 1, 2, 3, 4, 5)) == "0005-01-02T03:04:05.000Z"
    with pytest.raises(TypeError):
        canonical.dumps({"id": ObjectId()})  # database types are the builders' business
    with pytest.raises(ValueError):
        canonical.dumps({"x": float("nan")})


def test_a_state_digest_ignores_bookkeeping_and_key_order_but_not_content():
    oid = ObjectId()
    stored = {"_id": oid, "name": "企业", "version": 2, "sync_seq": 7, "sync_rev": 3}
    assert event.digest(stored) == event.digest({"version": 2, "_id": str(oid), "name": "企业"})
    assert event.digest(stored) != event.digest({**stored, "version": 3})
    assert event.digest(None) is None


def test_an_event_names_actor_device_request_and_times_as_stored():
    actor = Actor(user_id=ObjectId(), role=Role.INSPECTOR, device_id="phone-0001")
    now = datetime(2026, 5, 1, 10, 0, 0, 123999, UTC)
    token = REQUEST_ID.set("req-12345678")
    try:
        found = event.event(
            actor,
            "inspection.submit",
            "inspection",
            "i-1",
            before={"v": 1},
            after={"v": 2},
            now=now,
            device_time=datetime(2026, 5, 1, 17, 59, tzinfo=timezone(timedelta(hours=8))),
            photos=["a" * 64, "a" * 64],
            chain=ObjectId("0123456789abcdef01234567"),
        )
    finally:
        REQUEST_ID.reset(token)
    assert found["chain"] == "0123456789abcdef01234567"
    assert found["actor"] == {
        "user_id": str(actor.user_id),
        "role": "inspector",
        "device_id": "phone-0001",
    }
    assert found["at"] == datetime(2026, 5, 1, 10, 0, 0, 123000, UTC)
    assert found["device_time"] == datetime(2026, 5, 1, 9, 59, tzinfo=UTC)
    assert found["request_id"] == "req-12345678"
    assert found["photos"] == ["a" * 64]
    assert found["before"] == event.digest({"v": 1})
    assert event.event(None, "x.y", "k", 1, before=None, after=None, now=now)["chain"] == "system"
    with pytest.raises(ValueError):
        event.event(None, "created", "k", 1, before=None, after=None, now=now)
    with pytest.raises(ValueError):
        event.event(None, "x.y", "k", 1, before=None, after=None, now=now, photos=["../x"])


def test_a_signed_head_verifies_only_as_signed_and_only_with_its_key():
    key = signing.private_key(AUDIT_KEY)
    head = signing.sign_head(
        key, chain="system", n=3, hash="f" * 64, signed_at=datetime(2026, 5, 1, tzinfo=UTC)
    )
    exported = canonical.plain(head)  # as read back from signatures.jsonl
    public = signing.load_public_key(signing.public_pem(key).encode())
    assert signing.verify_head(public, exported)
    raw = signing.load_public_key(base64.b64encode(signing.public_raw(key)))
    assert signing.key_id(raw) == head["key_id"] == signing.key_id(key)
    for changed in ({"n": 4}, {"hash": "e" * 64}, {"chain": "other"}, {"signed_at": "x"}):
        assert not signing.verify_head(public, {**exported, **changed})
    stranger = signing.private_key(signing.generate_seed_b64())
    assert not signing.verify_head(stranger.public_key(), exported)
    with pytest.raises(ValueError):
        signing.private_key(base64.b64encode(b"short").decode())
