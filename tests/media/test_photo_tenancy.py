"""The same bytes as evidence in two jurisdictions: one blob, one upload context each, and
nothing of one context reachable from the other tenant (README.md, "Photo evidence").

Jurisdiction A has enterprise EA and its inspector, supervisor, manager and worker;
jurisdiction B likewise. Each inspector inspects their own enterprise, names the same photo in
a failed item, submits, and uploads the photo linked to their inspection with a filename of
their own. Every role then reads the photo, its sub-resources, the feed and the inspections.
"""

from __future__ import annotations

import json

import pytest

from checklists.versions import pinned_template
from server.actor import Role
from server.models.inspection import Inspection
from tests.factories import (
    EnterpriseFactory,
    JurisdictionFactory,
    UserFactory,
    enterprise_user,
    regulator,
)
from tests.media import helpers as h
from tests.sync.helpers import FAIL, failing_yes_no_item, passing_answers, phone_for

PHOTO = h.jpeg(h.marked_image((400, 300)))
SHA = h.sha256(PHOTO)


def _answers(cs, *photos):
    item = failing_yes_no_item(cs, photo_required=True)
    answers = passing_answers(cs)
    answers[item.code] = {"value": FAIL, "photos": list(photos)}
    return answers, item.code


def _inspect(phone, enterprise, cs, *photos, submit=True):
    answers, _item = _answers(cs, *photos)
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1, answers=answers
    )
    if submit:
        phone.submit(inspection_id)
    return inspection_id, phone.push()


def _upload(client, headers, inspection_id, item, filename, data=PHOTO):
    meta = h.photo_metadata(
        data,
        link_id=inspection_id,
        kind="inspection",
        item_code=item,
        filename=filename,
        device_time="2026-12-01T09:00:00+08:00",
    )
    response = h.upload(client, headers, data, meta=meta)
    assert response.status_code == 204, response.get_data(as_text=True)


@pytest.fixture
def tenants(client, auth_headers, published, jobs):
    cs = pinned_template("CS", 1)
    item = failing_yes_no_item(cs, photo_required=True).code
    out = {"cs": cs, "item": item}
    for side in ("a", "b"):
        j = JurisdictionFactory()
        e = EnterpriseFactory(jurisdiction_id=j.id, name=f"企业{side.upper()}有限公司")
        users = {
            "inspector": regulator(Role.INSPECTOR, j, display_name=f"检查员{side.upper()}"),
            "supervisor": regulator(Role.SUPERVISOR, j),
            "manager": enterprise_user(Role.ENTERPRISE_MANAGER, e),
            "worker": enterprise_user(Role.WORKER, e),
        }
        phone = phone_for(
            client, users["inspector"], auth_headers, device_id=f"phone-{side}-0001", seed=ord(side)
        )
        inspection_id, receipts = _inspect(phone, e, cs, SHA)
        assert [r["status"] for r in receipts] == ["applied", "applied"], receipts
        headers = {"Authorization": f"Bearer {phone.token}"}
        _upload(client, headers, inspection_id, item, f"{side}-site.jpg")
        jobs()
        out[side] = {"j": j, "e": e, "users": users, "phone": phone, "inspection": inspection_id}
    out["admin"] = UserFactory(role=Role.ADMIN.value)
    return out


def _who(tenants, name):
    if name == "admin":
        return tenants["admin"]
    side, role = name.split("_")
    return tenants[side]["users"][role]


def _foreign(tenants, side):
    """What must never appear in anything shown to a reader of `side` alone."""
    other = tenants["b" if side == "a" else "a"]
    return [
        str(other["users"]["inspector"].id),
        other["inspection"],
        f"{'b' if side == 'a' else 'a'}-site.jpg",
        other["e"].name,
        other["users"]["inspector"].display_name,
    ]


READERS = {
    # name: (sees the photo, sees positions and the original)
    "a_inspector": (True, True),
    "a_supervisor": (True, True),
    "a_manager": (True, False),  # the submitted finding of their firm; positions are not theirs
    "a_worker": (False, False),
    "b_inspector": (True, True),
    "b_supervisor": (True, True),
    "b_manager": (True, False),
    "b_worker": (False, False),
}


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_role_sees_only_the_context_of_its_own_tenant(client, auth_headers, tenants, name):
    visible, positions = READERS[name]
    side = name[0]
    mine = tenants[side]
    headers = auth_headers(_who(tenants, name))
    url = f"/api/v1/photos/{SHA}"
    response = client.get(url, headers=headers)
    if not visible:
        unknown = client.get(f"/api/v1/photos/{'0' * 64}", headers=headers)
        assert response.status_code == unknown.status_code == 404
        strip = ("instance", "request_id", "detail")
        assert {k: v for k, v in response.get_json().items() if k not in strip} == {
            k: v for k, v in unknown.get_json().items() if k not in strip
        }
        assert response.get_json()["detail"] == f"photo {SHA} not found"
        for suffix in ("/thumbnail", "/review", "/original"):
            assert client.get(url + suffix, headers=headers).status_code == 404
        return
    assert response.status_code == 200
    body = response.get_json()
    inspector = mine["users"]["inspector"]
    assert body["id"] == SHA
    assert body["uploader_id"] == str(inspector.id)
    assert body["filename"] == f"{side}-site.jpg"
    assert [(x["kind"], x["id"]) for x in body["links"]] == [("inspection", mine["inspection"])]
    assert len(body["contexts"]) == 1 and body["contexts"] == [body["context"]]
    assert body["review_url"] == f"{url}/review?context={body['context']}"
    assert f"企业：{mine['e'].name}" in body["watermark"]
    assert f"检查人员：{inspector.display_name}" in body["watermark"]
    assert ("gps" in body) is positions and ("gps" in body["exif"]) is positions
    text = json.dumps(body, ensure_ascii=False)
    for leak in _foreign(tenants, side):
        assert leak not in text, leak
    # The review copy is this context's: the same one its own inspector gets, never the
    # other tenant's, whichever URL asks for it.
    own = auth_headers(inspector)
    review = client.get(url + "/review", headers=headers)
    assert review.status_code == 200
    assert review.data == client.get(body["review_url"], headers=own).data
    other = tenants["b" if side == "a" else "a"]["users"]["inspector"]
    assert review.data != client.get(url + "/review", headers=auth_headers(other)).data
    assert client.get(url + "/thumbnail", headers=headers).status_code == 200
    original = client.get(url + "/original", headers=headers)
    assert original.status_code == (200 if positions else 403)
    if positions:
        assert original.data == PHOTO


def test_an_admin_sees_both_contexts_and_reads_each(client, auth_headers, tenants):
    headers = auth_headers(tenants["admin"])
    url = f"/api/v1/photos/{SHA}"
    body = client.get(url, headers=headers).get_json()
    assert len(body["contexts"]) == 2
    seen = {}
    for context in body["contexts"]:
        one = client.get(f"{url}?context={context}", headers=headers).get_json()
        assert one["context"] == context
        seen[one["uploader_id"]] = one
        review = client.get(one["review_url"], headers=headers)
        assert review.status_code == 200
    for side in ("a", "b"):
        mine = tenants[side]
        one = seen[str(mine["users"]["inspector"].id)]
        assert one["filename"] == f"{side}-site.jpg"
        assert [x["id"] for x in one["links"]] == [mine["inspection"]]
        assert f"企业：{mine['e'].name}" in one["watermark"]
    assert (
        seen[str(tenants["a"]["users"]["inspector"].id)]["review_url"]
        != (seen[str(tenants["b"]["users"]["inspector"].id)]["review_url"])
    )


def test_a_context_of_another_tenant_is_404_even_by_its_id(client, auth_headers, tenants):
    admin = auth_headers(tenants["admin"])
    url = f"/api/v1/photos/{SHA}"
    contexts = client.get(url, headers=admin).get_json()["contexts"]
    b_inspector = auth_headers(tenants["b"]["users"]["inspector"])
    own = client.get(url, headers=b_inspector).get_json()["context"]
    (foreign,) = [c for c in contexts if c != own]
    for suffix in ("", "/review"):
        response = client.get(f"{url}{suffix}?context={foreign}", headers=b_inspector)
        assert response.status_code == 404
        assert response.get_json()["detail"] == f"photo {SHA} not found"


@pytest.mark.parametrize("side", ["a", "b"])
def test_the_feed_and_inspection_readings_show_each_tenant_its_own(
    client, auth_headers, tenants, jobs, side
):
    """Each tenant's feed and readings hold its own inspections, complete with its own
    upload; a photo only the other tenant sent stays missing in an inspection naming it,
    exactly like a hash nobody has."""
    mine, other = tenants[side], tenants["b" if side == "a" else "a"]
    theirs = h.jpeg(h.marked_image((120, 90)))
    other_phone = other["phone"]
    elsewhere, _ = _inspect(other_phone, other["e"], tenants["cs"], h.sha256(theirs))
    other_headers = {"Authorization": f"Bearer {other_phone.token}"}
    _upload(client, other_headers, elsewhere, tenants["item"], "theirs.jpg", data=theirs)
    jobs()
    phone = mine["phone"]
    unknown = "e" * 64
    waiting, _ = _inspect(phone, mine["e"], tenants["cs"], h.sha256(theirs), unknown)
    jobs()
    phone.pull()
    assert set(phone.server["inspections"]) == {mine["inspection"], waiting}
    done = phone.server["inspections"][mine["inspection"]]
    assert done["photos_complete"] is True and done["missing_photos"] == []
    copy = phone.server["inspections"][waiting]
    assert copy["photos_complete"] is False
    assert copy["missing_photos"] == [h.sha256(theirs), unknown]
    text = json.dumps(phone.server, ensure_ascii=False, default=str)
    for leak in _foreign(tenants, side):
        assert leak not in text, leak
    for role in ("supervisor", "manager"):
        headers = auth_headers(mine["users"][role])
        reading = client.get(f"/api/v1/inspections/{waiting}", headers=headers).get_json()
        assert reading["missing_photos"] == [h.sha256(theirs), unknown]
        assert reading["photos_complete"] is False
        assert (
            client.get(f"/api/v1/inspections/{other['inspection']}", headers=headers).status_code
            == 404
        )
        listed = client.get("/api/v1/inspections", headers=headers).get_json()
        assert {i["id"] for i in listed} == {mine["inspection"], waiting}
        shown = client.get(f"/api/v1/photos/{h.sha256(theirs)}", headers=headers)
        assert shown.status_code == 404


def test_a_push_naming_another_tenants_photo_learns_nothing(client, auth_headers, tenants, jobs):
    """B's second inspection names A's photo without B ever sending its bytes: the receipt
    answers as for a hash nobody has, and the inspection waits for B's own upload."""
    b = tenants["b"]
    other_photo = h.jpeg(h.marked_image((200, 100)))
    a_phone = tenants["a"]["phone"]
    a_only, receipts = _inspect(a_phone, tenants["a"]["e"], tenants["cs"], h.sha256(other_photo))
    _upload(
        client,
        {"Authorization": f"Bearer {a_phone.token}"},
        a_only,
        tenants["item"],
        "a-second.jpg",
        data=other_photo,
    )
    jobs()
    unknown = "f" * 64
    named, receipts = _inspect(
        b["phone"], b["e"], tenants["cs"], h.sha256(other_photo), unknown, submit=False
    )
    (receipt,) = receipts
    assert receipt["status"] == "applied"
    assert receipt["missing_photos"] == [h.sha256(other_photo), unknown]
    assert receipt["photos_complete"] is False
    jobs()
    stored = Inspection.objects.get(id=named)
    assert stored.missing_photos == [h.sha256(other_photo), unknown]
    assert stored.photos_complete is False
    headers = auth_headers(b["users"]["supervisor"])
    assert client.get(f"/api/v1/photos/{h.sha256(other_photo)}", headers=headers).status_code == 404
    # B's own upload of the same bytes completes it, and shows B only B's context.
    b_headers = {"Authorization": f"Bearer {b['phone'].token}"}
    _upload(client, b_headers, named, tenants["item"], "b-second.jpg", data=other_photo)
    jobs()
    assert Inspection.objects.get(id=named).missing_photos == [unknown]
    body = client.get(f"/api/v1/photos/{h.sha256(other_photo)}", headers=headers).get_json()
    assert body["filename"] == "b-second.jpg" and len(body["contexts"]) == 1


def test_an_upload_ahead_of_another_tenants_inspection_never_counts_for_it(
    client, auth_headers, tenants, jobs
):
    """B's inspector uploads a photo linked to an inspection id that does not exist yet; A's
    inspector then pushes an inspection under that id naming the photo. B's upload is not
    A's evidence: A's receipt still asks for it, and A's readers never see B's context."""
    a, b = tenants["a"], tenants["b"]
    planted = h.jpeg(h.marked_image((300, 300)))
    future = "7c1f6c2e-3c8f-4c49-9a41-6c1a2d1e0a77"
    b_headers = {"Authorization": f"Bearer {b['phone'].token}"}
    _upload(client, b_headers, future, tenants["item"], "b-planted.jpg", data=planted)
    jobs()
    answers, _item = _answers(tenants["cs"], h.sha256(planted))
    mutation = {
        "mutation_id": "7c1f6c2e-3c8f-4c49-9a41-6c1a2d1e0a78",
        "collection": "inspections",
        "op": "create",
        "id": future,
        "data": {
            "enterprise_id": str(a["e"].id),
            "checklist_code": "CS",
            "checklist_version": 1,
            "answers": answers,
        },
    }
    a_headers = {"Authorization": f"Bearer {a['phone'].token}"}
    body = {"device_id": a["phone"].device_id, "mutations": [mutation]}
    (receipt,) = client.post("/api/v1/sync/push", json=body, headers=a_headers).get_json()[
        "receipts"
    ]
    assert receipt["status"] == "applied"
    assert receipt["missing_photos"] == [h.sha256(planted)]
    assert receipt["photos_complete"] is False
    jobs()
    assert Inspection.objects.get(id=future).photos_complete is False
    for role in ("inspector", "supervisor"):
        response = client.get(
            f"/api/v1/photos/{h.sha256(planted)}", headers=auth_headers(a["users"][role])
        )
        assert response.status_code == 404
    # A's own upload of the photo is what completes A's inspection.
    _upload(client, a_headers, future, tenants["item"], "a-own.jpg", data=planted)
    jobs()
    assert Inspection.objects.get(id=future).photos_complete is True
    shown = client.get(
        f"/api/v1/photos/{h.sha256(planted)}", headers=auth_headers(a["users"]["supervisor"])
    ).get_json()
    assert shown["filename"] == "a-own.jpg" and len(shown["contexts"]) == 1


def test_the_same_inspector_in_two_enterprises_gets_a_watermark_for_each(
    client, auth_headers, tenants, jobs
):
    """One inspector links the same photo to inspections of two enterprises of their
    jurisdiction: each enterprise's manager sees the copy stamped with its own name."""
    a = tenants["a"]
    second = EnterpriseFactory(jurisdiction_id=a["j"].id, name="第二企业有限公司")
    manager2 = enterprise_user(Role.ENTERPRISE_MANAGER, second)
    inspection_id, _receipts = _inspect(a["phone"], second, tenants["cs"], SHA)
    headers = {"Authorization": f"Bearer {a['phone'].token}"}
    _upload(client, headers, inspection_id, tenants["item"], "a-second-site.jpg")
    jobs()
    url = f"/api/v1/photos/{SHA}"
    body = client.get(url, headers=auth_headers(manager2)).get_json()
    assert f"企业：{second.name}" in body["watermark"]
    assert a["e"].name not in json.dumps(body, ensure_ascii=False)
    assert [x["id"] for x in body["links"]] == [inspection_id]
    first = client.get(url, headers=auth_headers(a["users"]["manager"])).get_json()
    assert [x["id"] for x in first["links"]] == [a["inspection"]]
    review2 = client.get(url + "/review", headers=auth_headers(manager2)).data
    review1 = client.get(url + "/review", headers=auth_headers(a["users"]["manager"])).data
    assert review1 != review2
    # The inspector sees both of their contexts.
    mine = client.get(url, headers=auth_headers(a["users"]["inspector"])).get_json()
    assert len(mine["contexts"]) == 2
