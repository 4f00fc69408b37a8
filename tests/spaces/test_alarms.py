"""Alarms that order the entrants out: the attendant leaving with entrants inside, monitoring
out of limits while occupied, an overstay at the end of the window; delivered through the feed
to the attendant, the entrants and the manager; acknowledged, and entry stops while open."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from server.models.alarm import Alarm
from server.models.audit_event import AuditEvent
from server.models.entry import Roster
from server.services import timers
from tests.spaces.site import READINGS, make_site
from tests.sync.helpers import phone_for


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def _ack(site, alarm_id, who):
    return site.client.post(
        f"/api/v1/alarms/{alarm_id}/acknowledgements", headers=site.headers[who]
    )


def test_the_attendant_leaving_raises_an_alarm_the_phones_get_and_entry_stops(
    site, client, auth_headers, jobs
):
    site.ready()
    assert site.scan("enter").get_json()["allowed"]
    assert site.scan("attendant_check_out", who="attendant").get_json()["allowed"]
    (alarm,) = Alarm.objects()
    assert alarm.kind == "attendant_left" and alarm.status == "open"
    assert alarm.inside == [site.users["worker"].id]
    assert {site.users[n].id for n in ("attendant", "worker", "manager")} <= set(alarm.recipients)
    assert alarm.message["zh-CN"]
    # On the phones of the worker inside and of the attendant, at their next pull.
    for who in ("worker", "attendant"):
        phone = phone_for(client, site.users[who], auth_headers, device_id=f"{who}-phone-9")
        phone.pull()
        assert alarm.id in phone.server["alarms"]
    # Nobody else goes in while it is open, even with an attendant back.
    assert site.scan("attendant_check_in", who="attendant").get_json()["allowed"]
    reasons = site.scan("enter", who="contractor").get_json()["reasons"]
    assert "ALARM" in [r["code"] for r in reasons]
    # The worker's acknowledgement is recorded and leaves it open; the attendant's closes it.
    assert _ack(site, alarm.id, "worker").get_json()["status"] == "open"
    assert _ack(site, alarm.id, "supervisor").status_code == 403
    assert _ack(site, alarm.id, "manager_b").status_code == 404
    closed = _ack(site, alarm.id, "attendant").get_json()
    assert closed["status"] == "acknowledged"
    assert [a["by"] for a in closed["acknowledgements"]] == [
        site.id("worker"),
        site.id("attendant"),
    ]
    assert Roster.objects.get(id=site.space["id"]).alarms == []
    assert site.scan("enter", who="contractor").get_json()["allowed"]
    jobs()
    actions = [e.action for e in AuditEvent.objects(object__kind="alarm").order_by("number")]
    assert actions == ["alarm.raise", "alarm.acknowledge", "alarm.acknowledge"]


def test_monitoring_out_of_limits_while_occupied_raises_an_alarm(site):
    site.ready()
    bad = {**READINGS, "O2": {"value": 18.0, "unit": "%VOL"}}
    # Nobody inside: a bad reading is recorded (and denies entry), no alarm.
    assert site.record("monitoring", "attendant", readings=bad).status_code == 201
    assert Alarm.objects.count() == 0
    assert site.record("gas_test", "manager", readings=READINGS).status_code == 201
    assert site.scan("enter").get_json()["allowed"]
    assert site.record("monitoring", "attendant", readings=READINGS).status_code == 201
    assert Alarm.objects.count() == 0
    assert site.record("monitoring", "attendant", readings=bad).status_code == 201
    (alarm,) = Alarm.objects()
    assert alarm.kind == "monitoring_out_of_limits" and "O2" in alarm.detail
    listed = site.client.get(
        "/api/v1/alarms?status=open", headers=site.headers["supervisor"]
    ).get_json()
    assert [a["id"] for a in listed] == [alarm.id]
    # What a polling page asks for: changed since its previous poll.
    for since, expected in (
        (alarm.updated_at - timedelta(seconds=1), [alarm.id]),
        (alarm.updated_at + timedelta(seconds=1), []),
    ):
        polled = site.client.get(
            "/api/v1/alarms",
            query_string={
                "status": "open",
                "since": since.isoformat() + ("" if since.tzinfo else "Z"),
            },
            headers=site.headers["manager"],
        ).get_json()
        assert [a["id"] for a in polled] == expected
    assert site.client.get("/api/v1/alarms", headers=site.headers["supervisor2"]).get_json() == []


def test_an_overstay_raises_an_alarm_when_the_window_ends(site, jobs):
    site.ready()
    assert site.scan("enter").get_json()["allowed"]
    end = datetime.fromisoformat(site.permit["valid_to"].replace("Z", "+00:00"))
    assert timers.fire_due(now=end - timedelta(minutes=1)) == 0
    assert timers.fire_due(now=end + timedelta(seconds=1)) == 1
    jobs()
    (alarm,) = Alarm.objects()
    assert alarm.kind == "overstay" and alarm.inside == [site.users["worker"].id]


def test_no_overstay_alarm_when_everybody_left(site, jobs):
    site.ready()
    assert site.scan("enter").get_json()["allowed"]
    assert site.scan("exit").get_json()["allowed"]
    end = datetime.fromisoformat(site.permit["valid_to"].replace("Z", "+00:00"))
    assert timers.fire_due(now=end + timedelta(seconds=1)) == 1
    jobs()
    assert Alarm.objects.count() == 0
