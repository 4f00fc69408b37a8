"""Manifest-first photos: receipts list what the server lacks; arrivals complete inspections."""

from __future__ import annotations

import pytest

from checklists.versions import pinned_template
from media.blobstore import BlobStore
from media.links import LinkRef
from server.actor import Role
from server.clock import utcnow
from server.models.inspection import Inspection
from server.models.jurisdiction import Jurisdiction
from server.services.inspections import on_photo_arrived, photo_link_target
from tests.factories import JurisdictionFactory, enterprise_user, regulator
from tests.media import helpers as media
from tests.sync.helpers import FAIL, failing_yes_no_item, make_world, passing_answers, phone_for


@pytest.fixture
def setup(client, auth_headers, published, db):
    cs = pinned_template("CS", 1)
    _j, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="photo-phone")
    return cs, enterprise, inspector, phone, BlobStore(db)


def _with_photos(cs, *photos):
    item = failing_yes_no_item(cs, photo_required=True)
    answers = passing_answers(cs)
    answers[item.code] = {"value": FAIL, "photos": list(photos)}
    return answers


def _upload_for(client, phone, inspection_id, data):
    headers = {"Authorization": f"Bearer {phone.token}"}
    meta = media.photo_metadata(data, link_id=inspection_id, kind="inspection")
    response = media.upload(client, headers, data, meta=meta)
    assert response.status_code == 204, response.get_data(as_text=True)


def test_receipt_lists_missing_photos_until_they_arrive(setup, client, jobs):
    cs, enterprise, _inspector, phone, blobs = setup
    one, two = media.jpeg(), media.jpeg(media.marked_image((320, 240)))
    have, lacking = media.sha256(one), media.sha256(two)
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        answers=_with_photos(cs, have, lacking),
    )
    receipt = phone.push()[0]
    assert receipt["missing_photos"] == [have, lacking]
    assert receipt["photos_complete"] is False
    _upload_for(client, phone, inspection_id, one)
    on_photo_arrived(have, LinkRef("inspection", inspection_id))
    on_photo_arrived(have, LinkRef("inspection", inspection_id))  # hooks may run twice
    assert Inspection.objects.get(id=inspection_id).missing_photos == [lacking]
    # Bytes in the store are not evidence: only an upload linked to the inspection is.
    blobs.put(two, now=utcnow())
    on_photo_arrived(lacking, LinkRef("inspection", inspection_id))
    assert Inspection.objects.get(id=inspection_id).missing_photos == [lacking]
    _upload_for(client, phone, inspection_id, two)
    jobs()
    stored = Inspection.objects.get(id=inspection_id)
    assert stored.missing_photos == [] and stored.photos_complete is True
    phone.pull()
    assert phone.server["inspections"][inspection_id]["photos_complete"] is True


def test_only_a_photo_uploaded_for_the_inspection_is_not_missing(setup, client, jobs):
    cs, enterprise, _inspector, phone, blobs = setup
    stored_only = blobs.put(b"bytes, but no upload of them", now=utcnow())["_id"]
    elsewhere = media.jpeg(media.marked_image((200, 200)))
    other_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
    )
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
    )
    phone.push()
    _upload_for(client, phone, other_id, elsewhere)  # the same inspector's, for another one
    here = media.jpeg(media.marked_image((240, 200)))
    _upload_for(client, phone, inspection_id, here)
    jobs()
    answers = _with_photos(cs, stored_only, media.sha256(elsewhere), media.sha256(here))
    phone.edit(inspection_id, answers=answers)
    (receipt,) = phone.push()
    assert receipt["status"] == "applied"
    assert receipt["missing_photos"] == [stored_only, media.sha256(elsewhere)]
    assert receipt["photos_complete"] is False


def test_link_target_is_the_inspection_its_readers_may_see(setup, auth_headers):
    from server.actor import Role
    from tests.factories import JurisdictionFactory, regulator

    cs, enterprise, inspector, phone, _blobs = setup
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
    )
    phone.push()
    assert photo_link_target(inspector.actor(), inspection_id).enterprise_id == enterprise.id
    stranger = regulator(Role.INSPECTOR, JurisdictionFactory()).actor()
    assert photo_link_target(stranger, inspection_id) is None
    assert photo_link_target(inspector.actor(), "no-such-inspection") is None


def test_tus_upload_linked_to_the_inspection_completes_it(setup, client, jobs):
    """End to end: manifest in the push, bytes through tus, the arrival job on a worker, the
    feed says complete."""
    from tests.media import helpers as media

    cs, enterprise, _inspector, phone, _blobs = setup
    photo = media.jpeg()
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        answers=_with_photos(cs, media.sha256(photo)),
    )
    assert phone.push()[0]["missing_photos"] == [media.sha256(photo)]
    headers = {"Authorization": f"Bearer {phone.token}"}
    meta = media.photo_metadata(photo, link_id=inspection_id, kind="inspection", item_code="CS-01")
    response = media.upload(client, headers, photo, meta=meta)
    assert response.status_code == 204, response.get_data(as_text=True)
    jobs()
    phone.pull()
    assert phone.server["inspections"][inspection_id]["photos_complete"] is True
    assert phone.server["inspections"][inspection_id]["missing_photos"] == []


def test_evidence_cannot_be_uploaded_to_someone_elses_inspection(setup, client, auth_headers):
    from server.actor import Role
    from tests.factories import JurisdictionFactory, regulator
    from tests.media import helpers as media

    _cs, enterprise, _inspector, phone, _blobs = setup
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1
    )
    phone.push()
    stranger = auth_headers(regulator(Role.INSPECTOR, JurisdictionFactory()))
    photo = media.jpeg()
    meta = media.photo_metadata(photo, link_id=inspection_id, kind="inspection")
    response = media.create(client, stranger, photo, meta)
    assert response.status_code == 404
    assert response.get_json()["type"] == "/problems/not-found"


def test_phone_sends_wanted_photos_over_a_flaky_link_and_the_inspection_completes(
    client, auth_headers, published, db, jobs
):
    from sync.client import FlakyLink, WsgiTransport
    from tests.media import helpers as media

    cs = pinned_template("CS", 1)
    _j, enterprise, (inspector,) = make_world()
    link = FlakyLink(WsgiTransport(client), seed=11, lose_response=0.3, duplicate=0.2)
    phone = phone_for(client, inspector, auth_headers, device_id="flaky-camera", transport=link)
    phone.photo_chunk = 64 * 1024
    shots = [media.noisy_jpeg(size=(640, 480), seed=n) for n in range(3)]
    hashes = [phone.take_photo(shot) for shot in shots]
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        answers=_with_photos(cs, *hashes),
    )
    phone.sync()
    link.flush()
    jobs()  # the photos' arrival hooks
    phone.sync()
    stored = Inspection.objects.get(id=inspection_id)
    assert stored.missing_photos == [] and stored.photos_complete is True
    assert phone.server["inspections"][inspection_id]["photos_complete"] is True
    assert BlobStore(db).missing(hashes) == []
    assert db["photos"].count_documents({}) == 3
    assert link.stats["lose_response"] > 0


def test_a_submitted_inspection_takes_the_photos_it_names_and_no_other(setup, client, jobs):
    cs, enterprise, _inspector, phone, _blobs = setup
    named, other = media.jpeg(), media.jpeg(media.marked_image((320, 240)))
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        answers=_with_photos(cs, media.sha256(named)),
    )
    phone.submit(inspection_id)  # offline: submitted before its photo went up
    assert [r["status"] for r in phone.push()] == ["applied", "applied"]
    headers = {"Authorization": f"Bearer {phone.token}"}

    def meta(data):
        return media.photo_metadata(data, link_id=inspection_id, kind="inspection")

    late = media.create(client, headers, other, meta(other))
    assert late.status_code == 422
    body = late.get_json()
    assert body["reasons"] == [
        {"rule": "evidence_named_before_closing", "kind": "inspection", "id": inspection_id}
    ]
    assert media.upload(client, headers, named, meta=meta(named)).status_code == 204
    jobs()
    assert Inspection.objects.get(id=inspection_id).photos_complete is True


def test_a_photo_may_arrive_before_its_inspection_and_counts_when_it_lands(
    setup, client, auth_headers, jobs
):
    cs, enterprise, inspector, phone, _blobs = setup
    photo = media.jpeg()
    inspection_id = "0d1f6c2e-3c8f-4c49-9a41-6c1a2d1e0a10"  # made offline, not pushed yet
    headers = {"Authorization": f"Bearer {phone.token}"}
    meta = media.photo_metadata(photo, link_id=inspection_id, kind="inspection")
    assert media.upload(client, headers, photo, meta=meta).status_code == 204
    jobs()
    # Kept as its uploader's: nobody else learns of it through the inspection yet.
    stranger = regulator(Role.INSPECTOR, JurisdictionFactory())
    sha = media.sha256(photo)
    assert client.get(f"/api/v1/photos/{sha}", headers=auth_headers(stranger)).status_code == 404
    supervisor = regulator(Role.SUPERVISOR, Jurisdiction.objects.get(id=inspector.jurisdiction_id))
    assert client.get(f"/api/v1/photos/{sha}", headers=auth_headers(supervisor)).status_code == 404
    mutation = {
        "mutation_id": "0d1f6c2e-3c8f-4c49-9a41-6c1a2d1e0a11",
        "collection": "inspections",
        "op": "create",
        "id": inspection_id,
        "data": {
            "enterprise_id": str(enterprise.id),
            "checklist_code": "CS",
            "checklist_version": 1,
            "answers": _with_photos(cs, sha),
        },
    }
    body = {"device_id": phone.device_id, "mutations": [mutation]}
    (receipt,) = client.post("/api/v1/sync/push", json=body, headers=headers).get_json()["receipts"]
    assert (receipt["status"], receipt["missing_photos"], receipt["photos_complete"]) == (
        "applied",
        [],
        True,
    )
    # The inspection exists now: its supervisor sees its evidence.
    assert client.get(f"/api/v1/photos/{sha}", headers=auth_headers(supervisor)).status_code == 200


def test_only_a_role_that_makes_inspections_uploads_ahead_of_one(setup, client, auth_headers):
    _cs, enterprise, _inspector, _phone, _blobs = setup
    worker = enterprise_user(Role.WORKER, enterprise)
    photo = media.jpeg()
    meta = media.photo_metadata(
        photo, link_id="0d1f6c2e-3c8f-4c49-9a41-6c1a2d1e0a12", kind="inspection"
    )
    created = media.create(client, auth_headers(worker), photo, meta)
    assert created.status_code == 404
