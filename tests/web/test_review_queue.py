"""The queue and inspection review pages over the cookie session: thumbnails and filters, the
review copy with its camera facts, a return with a reason per item, a stale form refused, and
the inspector's list of what awaits them."""

from __future__ import annotations

import re

import pytest

from server.actor import Role
from server.models.inspection import Inspection
from tests.factories import JurisdictionFactory, regulator
from tests.review.helpers import desk
from tests.web.pages import hidden, log_in


@pytest.fixture
def setup(client, auth_headers, published):
    return desk(client, auth_headers)


def _form(html: str, form_id: str) -> dict:
    found = re.search(rf'<form id="{form_id}".*?</form>', html, re.S)
    assert found, f"no form {form_id}"
    return {name: hidden(found.group(0), name) for name in ("csrf_token", "decision_id", "version")}


def test_a_supervisor_returns_an_item_from_the_page(setup, client):
    d = setup
    inspection_id, sha = d.inspect()
    log_in(client, d.supervisor, "/review/queue")
    queue = client.get("/review/queue").get_data(as_text=True)
    assert f'data-id="{inspection_id}"' in queue
    assert f"/review/photos/{sha}/thumbnail" in queue
    assert "照片均由本应用相机拍摄" in queue and "位于企业登记位置附近" in queue
    thumb = client.get(f"/review/photos/{sha}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    english = client.get(f"/review/inspections/{inspection_id}?lang=en").get_data(as_text=True)
    assert "Inspection review" in english and "Return the items with reasons" in english
    client.get("/review/queue?lang=zh-CN")
    # Filters narrow it: another campaign holds nothing.
    assert "没有待审核的事项" in client.get("/review/queue?campaign=HW").get_data(as_text=True)

    page = client.get(f"/review/inspections/{inspection_id}").get_data(as_text=True)
    assert f"/review/photos/{sha}/review?context=" in page
    assert "31.230400, 121.473700" in page  # the camera's position beside the photo
    original = client.get(f"/review/photos/{sha}/original")
    assert original.status_code == 200 and original.mimetype == "image/jpeg"

    form = _form(page, "return-form")
    sent = client.post(
        f"/review/inspections/{inspection_id}/decisions",
        data={**form, "verdict": "returned", f"reason.{d.item}": "编号看不清", "reason.CS-02": ""},
    )
    assert sent.status_code == 303
    stored = Inspection.objects.get(id=inspection_id)
    assert stored.status == "returned" and stored.review["reasons"] == {d.item: "编号看不清"}
    # The same page's approve form is stale now: refused with a page, nothing changes.
    stale = client.post(
        f"/review/inspections/{inspection_id}/decisions",
        data={
            **_form(page, "approve-form"),
            "decision_id": "0" * 8 + "-0000-4000-8000-" + "0" * 12,
            "verdict": "approved",
        },
    )
    assert stale.status_code == 409 and stale.mimetype == "text/html"
    assert Inspection.objects.get(id=inspection_id).status == "returned"


def test_a_form_without_its_csrf_token_is_refused(setup, client):
    d = setup
    inspection_id, _ = d.inspect()
    log_in(client, d.supervisor, "/review/queue")
    page = client.get(f"/review/inspections/{inspection_id}").get_data(as_text=True)
    form = _form(page, "approve-form")
    del form["csrf_token"]
    refused = client.post(
        f"/review/inspections/{inspection_id}/decisions", data={**form, "verdict": "approved"}
    )
    assert refused.status_code == 403
    assert Inspection.objects.get(id=inspection_id).status == "submitted"


def test_the_inspector_sees_what_was_returned_to_them(setup, client, auth_headers):
    d = setup
    inspection_id, _ = d.inspect()
    boss = auth_headers(d.supervisor)
    version = Inspection.objects.get(id=inspection_id).version
    body = {
        "decision_id": "11111111-1111-4111-8111-111111111111",
        "verdict": "returned",
        "inspection_version": version,
        "reasons": {d.item: "补拍井盖编号"},
    }
    decided = client.post(f"/api/v1/inspections/{inspection_id}/decisions", json=body, headers=boss)
    assert decided.status_code == 201
    log_in(client, d.inspector, "/review/awaiting")
    html = client.get("/review/awaiting").get_data(as_text=True)
    assert f'data-id="{inspection_id}"' in html and "补拍井盖编号" in html
    assert client.get("/review/queue").status_code == 403
    d.inspect(corrects=inspection_id, seed=3)
    assert "没有待处理的退回记录" in client.get("/review/awaiting").get_data(as_text=True)


def test_another_jurisdictions_supervisor_gets_not_found_pages(setup, client):
    d = setup
    inspection_id, sha = d.inspect()
    log_in(client, regulator(Role.SUPERVISOR, JurisdictionFactory()), "/review/queue")
    assert f'data-id="{inspection_id}"' not in client.get("/review/queue").get_data(as_text=True)
    for url in (
        f"/review/inspections/{inspection_id}",
        f"/review/photos/{sha}/thumbnail",
        f"/review/photos/{sha}/original",
    ):
        refused = client.get(url)
        assert refused.status_code == 404 and refused.mimetype == "text/html", url
