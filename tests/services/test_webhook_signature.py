"""The Standard Webhooks scheme, checked against the example the specification publishes."""

from __future__ import annotations

from server.services.webhooks import signature

# The specification's example (standard-webhooks, spec/standard-webhooks.md, and its libraries'
# test suites): this secret, id, timestamp and body sign to this value.
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_specifications_example_signs_as_published():
    assert signature.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == EXPECTED
    assert signature.headers(SECRET, MSG_ID, TIMESTAMP, BODY) == {
        "webhook-id": MSG_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": EXPECTED,
    }


def test_a_receiver_accepts_the_example_and_refuses_changes():
    received = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": f"v1,bm90IHRoaXMgb25l {EXPECTED}",  # rotating: two signatures
    }
    assert signature.verify(SECRET, received, BODY, now=TIMESTAMP + 10)
    assert not signature.verify(SECRET, received, b'{"test": 2432232315}', now=TIMESTAMP)
    assert not signature.verify(SECRET, {**received, "webhook-id": "msg_x"}, BODY, now=TIMESTAMP)
    late = TIMESTAMP + signature.TOLERANCE_S + 1
    assert not signature.verify(SECRET, received, BODY, now=late)
    assert not signature.verify(signature.new_secret(), received, BODY, now=TIMESTAMP)


def test_new_secrets_are_prefixed_distinct_and_usable():
    one, two = signature.new_secret(), signature.new_secret()
    assert one.startswith("whsec_") and one != two
    signed = signature.headers(one, "msg_1", 1, b"{}")
    assert signature.verify(one, signed, b"{}", now=1)
