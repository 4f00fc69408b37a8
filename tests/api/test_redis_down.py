"""With Redis down the API keeps accepting every write that only needs to enqueue: pushes and
photo uploads answer as usual, their jobs wait in the outbox, and the sweep queues them when
Redis is back."""

from __future__ import annotations

from rq import Queue

from checklists.versions import pinned_template
from media.links import ARRIVAL_JOB
from server.jobs.outbox import sweep_outbox
from server.models.inspection import Inspection
from server.services import outbox
from server.wiring import wire
from tests.media import helpers as media
from tests.sync.helpers import FAIL, failing_yes_no_item, make_world, passing_answers, phone_for


def test_pushes_and_uploads_are_accepted_and_their_jobs_run_once_redis_is_back(
    jobs, app_without_redis, auth_headers, published, db, redis, settings
):
    # `jobs` first: the app without Redis must be the last to wire this process.
    client = app_without_redis.test_client()
    cs = pinned_template("CS", 1)
    item = failing_yes_no_item(cs, photo_required=True)
    _j, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="no-redis-phone")
    photo = media.jpeg()
    answers = passing_answers(cs)
    answers[item.code] = {"value": FAIL, "photos": [media.sha256(photo)]}
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id), checklist_code="CS", checklist_version=1, answers=answers
    )
    assert [r["status"] for r in phone.push()] == ["applied"]
    meta = media.photo_metadata(
        photo, link_id=inspection_id, kind="inspection", item_code=item.code
    )
    headers = {"Authorization": f"Bearer {phone.token}"}
    assert media.upload(client, headers, photo, meta=meta).status_code == 204
    waiting = list(db["outbox"].find())
    # The push's sequencing and audit events, the photo's arrival hooks and its audit event:
    # confirmed by their witnesses (pending) or born ready, none run.
    assert {e["job"] for e in waiting} == {"feed.sequence", ARRIVAL_JOB, "audit.append"}
    assert {e["state"] for e in waiting} <= {"pending", "ready"}
    # The relay has tried the Redis that is down for everything it was handed: left to run
    # after Redis is back, it would queue the entries on it before the sweep does.
    assert outbox.registry.flush()
    assert Queue(settings.rq_queue, connection=redis).count == 0  # nothing reached any Redis

    wire(settings, redis, relay=True)  # Redis is back (the suite's one) ...
    jobs()  # ... but nothing was queued on it ...
    assert not Inspection.objects.get(id=inspection_id).photos_complete
    waited = db["outbox"].count_documents({})
    swept = sweep_outbox()  # ... until the sweep queues what waited (confirmed or ready)
    assert swept["confirmed"] + swept["queued"] == waited
    jobs()
    entries = list(db["outbox"].find())
    assert {e["state"] for e in entries} == {"done"}
    assert [len(outbox.runs_of(e)) for e in entries] == [1] * waited
    assert Inspection.objects.get(id=inspection_id).photos_complete
