"""A major's close-out approved on the review site: after the re-inspection at the place and
the firm's written application, the supervisor's page offers 销号（批准）and takes it through the
lifecycle use case; before the application the same form is refused with the rule's reason."""

from __future__ import annotations

import re

from tests.hazards.helpers import transition
from tests.hazards.test_closeout import HERE, PHOTO, _hazard, _to_reinspection, world
from tests.web.pages import hidden, log_in

__all__ = ["world"]  # the close-out tests' world (a firm with a labelled space)


def _close(client, hazard: str, page: str):
    version = re.search(r'id="take-close".*?name="version" value="(\d+)"', page, re.S).group(1)
    return client.post(
        f"/review/hazards/{hazard}/transitions",
        data={
            "csrf_token": hidden(page, "csrf_token"),
            "action": "close",
            "version": version,
            "note": "同意销号",
        },
    )


def test_a_supervisor_approves_a_majors_close_out_application_on_the_site(client, world):
    hazard = _hazard(client, world, level="major")
    _to_reinspection(client, world, hazard, major=True)
    visit = {"location": HERE, "photos": [PHOTO], "note": "现场复查，已整改"}
    recorded = transition(
        client, world, "inspector", hazard, "record_reinspection", reinspection=visit
    )
    assert recorded.status_code == 200, recorded.get_json()
    log_in(client, world["supervisor"], f"/review/hazards/{hazard}")
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert 'id="take-close"' in page and 'id="take-fail"' in page
    unasked = _close(client, hazard, page)
    assert unasked.status_code == 422
    assert "closed on the firm&#39;s written application" in unasked.get_data(as_text=True)
    applied = transition(client, world, "manager", hazard, "apply_closeout", application="销号申请")
    assert applied.status_code == 200
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert 'id="application">销号申请' in page
    assert _close(client, hazard, page).status_code == 303
    page = client.get(f"/review/hazards/{hazard}").get_data(as_text=True)
    assert 'id="state">已销号<' in page
    # Closed and listed neither: nothing is left to decide but what the table allows.
    assert re.findall(r'id="take-([a-z_]+)"', page) == []
