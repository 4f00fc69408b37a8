"""The worker page `/s/<token>` through the Flask client: the login round trip, a bad label's
refusal page, a tap decided by the scan use case (denied with the rules' zh-CN reasons, then
allowed), a form sent twice refused as a replay, and the attendant's roster and alarms."""

from __future__ import annotations

import pytest

from server.models.alarm import Alarm
from server.models.entry import EntryEvent
from server.services.spaces import labels, scan_log
from tests.spaces.site import READINGS, make_site
from tests.web.pages import hidden, log_in


@pytest.fixture
def site(client, world, auth_headers):
    return make_site(client, world, auth_headers)


def _tap(client, url, page: str, action: str):
    """Press the page's button for `action` (its own nonce, the session's CSRF token)."""
    start = page.index(f'value="{action}"')
    form = page[page.rindex("<form", 0, start) : start]
    data = {"csrf_token": hidden(form, "csrf_token"), "nonce": hidden(form, "nonce")}
    return client.post(url, data={**data, "action": action}, follow_redirects=True)


def test_the_label_sends_a_stranger_to_the_login_and_back(client, site):
    url = f"/s/{site.token}"
    first = client.get(url)
    assert first.status_code == 302 and first.headers["Location"] == f"/login?next={url}"
    assert log_in(client, site.users["worker"], url).headers["Location"] == url
    page = client.get(url).get_data(as_text=True)
    assert "1号污水井" in page and "YX-001" in page and "先通风、再检测、后作业" in page
    assert "当前没有在有效期内的作业票" in page


def test_a_forged_or_rotated_label_gets_a_refusal_page(client, site):
    log_in(client, site.users["worker"])
    forged = site.token[:-2] + ("AA" if not site.token.endswith("AA") else "BA")
    response = client.get(f"/s/{forged}")
    assert response.status_code == 400
    assert "二维码无效" in response.get_data(as_text=True)
    rotated = site.post(f"/api/v1/spaces/{site.space['id']}/label", {})
    assert rotated.status_code == 201
    old = client.get(f"/s/{site.token}")
    assert old.status_code == 400
    assert labels.LABEL_REASONS[labels.ROTATED][0] in old.get_data(as_text=True)
    assert client.get(f"/s/{rotated.get_json()['token']}").status_code == 200


def test_a_tap_is_denied_with_reasons_then_allowed_after_a_passing_test(client, site, jobs):
    site.ready(readings={**READINGS, "H2S": {"value": 30, "unit": "ppm"}})
    url = f"/s/{site.token}"
    log_in(client, site.users["worker"], url)
    denied = _tap(client, url, client.get(url).get_data(as_text=True), "enter")
    text = denied.get_data(as_text=True)
    assert denied.status_code == 200 and "进入有限空间：不允许" in text
    assert 'data-code="GAS_FAIL"' in text
    assert site.record("gas_test", "manager", readings=READINGS).status_code == 201
    allowed = _tap(client, url, text, "enter").get_data(as_text=True)
    assert "进入有限空间：允许" in allowed and "空间内现有 1 人" in allowed
    out = _tap(client, url, allowed, "exit").get_data(as_text=True)
    assert "离开有限空间：允许" in out
    jobs()
    events = EntryEvent.objects(worker_id=site.users["worker"].id).order_by("at", "id")
    assert [(e.action, e.allowed) for e in events] == [
        ("enter", False),
        ("enter", True),
        ("exit", True),
    ]
    assert {e.device_id.split(":")[0] for e in events} == {"web"}
    # Reloading shows the decision again and taps nothing; another's decision is not shown.
    scan_id = scan_log.entry_id(events[2].nonce)
    shown = client.get(f"{url}?scan={scan_id}").get_data(as_text=True)
    assert "离开有限空间：允许" in shown and events.count() == 3
    log_in(client, site.users["contractor"], url)
    assert 'id="decision"' not in client.get(f"{url}?scan={scan_id}").get_data(as_text=True)


def test_a_form_sent_twice_is_a_replay_and_changes_nothing(client, site, jobs):
    site.ready()
    url = f"/s/{site.token}"
    log_in(client, site.users["worker"], url)
    page = client.get(url).get_data(as_text=True)
    assert "允许" in _tap(client, url, page, "enter").get_data(as_text=True)
    again = _tap(client, url, page, "enter")
    assert again.status_code == 409, again.status_code and "重复提交" in again.get_data(
        as_text=True
    )
    jobs()
    assert EntryEvent.objects(action="enter").count() == 1


def test_a_tap_without_the_csrf_token_is_refused(client, site, jobs):
    site.ready()
    url = f"/s/{site.token}"
    log_in(client, site.users["worker"], url)
    page = client.get(url).get_data(as_text=True)
    response = client.post(url, data={"action": "enter", "nonce": hidden(page, "nonce")})
    assert response.status_code == 403
    jobs()
    assert EntryEvent.objects(action="enter").count() == 0


def test_the_attendant_sees_the_roster_and_acknowledges_the_alarm(client, site):
    site.ready()
    assert site.scan("enter").get_json()["allowed"]
    url = f"/s/{site.token}"
    log_in(client, site.users["attendant"], url)
    page = client.get(url).get_data(as_text=True)
    assert 'value="attendant_check_out"' in page and 'value="enter"' not in page
    assert "空间内人员（1 人）" in page and "张三" in page
    left = _tap(client, url, page, "attendant_check_out").get_data(as_text=True)
    assert "监护人签退：允许" in left and "所有人员立即撤离" in left
    alarm = Alarm.objects.get()
    ack = left[left.index('class="box alarm"') :]
    action = f"/s/{site.token}/alarms/{alarm.id}/acknowledgement"
    done = client.post(action, data={"csrf_token": hidden(ack, "csrf_token")})
    assert done.status_code == 303
    assert Alarm.objects.get().status == "acknowledged"
    assert "所有人员立即撤离" not in client.get(url).get_data(as_text=True)
