"""The link registry: kinds resolved by their owners, 404 for what the caller cannot see,
422 for kinds nobody registered, and arrival hooks after a photo is stored and linked (through
the outbox, so that a failing hook is retried)."""

from __future__ import annotations

import logging

import pytest

from media import links
from media.errors import UnknownLinkKind
from server.errors import NotFound, RuleViolation
from server.jobs.outbox import run_entry
from tests.media import helpers as h


@pytest.mark.parametrize("kind", ["", "x", "Hazard", "gas-test", "9_lives", "a" * 33])
def test_a_kind_is_named_by_the_pattern(kind):
    with pytest.raises(ValueError, match="link kind"):
        links.register_link_kind(kind, lambda actor, link_id: True)
    with pytest.raises(ValueError, match="link kind"):
        links.register_arrival_hook(kind, lambda sha256, link: None)


def test_a_kind_registered_by_its_owner_accepts_uploads(client, world):
    a = world["enterprise"]
    links.register_link_kind("gas_test", lambda actor, link_id: links.LinkTarget(a.id))
    try:
        data = h.jpeg()
        meta = h.photo_metadata(data, "g-1", kind="gas_test")
        assert h.upload(client, world["headers"]["inspector"], data, meta=meta).status_code == 204
    finally:
        links.unregister_link_kind("gas_test")
    context = h.context(h.sha256(data))
    assert [(link.kind, link.id) for link in context.links] == [("gas_test", "g-1")]
    assert (context.target_kind, context.target_id) == ("gas_test", "g-1")
    assert context.enterprise_id == a.id


def test_an_unregistered_kind_answers_422_naming_the_rule(client, world):
    data = h.jpeg()
    meta = h.photo_metadata(data, "g-1", kind="gas_test")
    response = h.create(client, world["headers"]["inspector"], data, meta)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {
        "type": "/problems/unknown-link-kind",
        "title": "Rule violation",
        "status": 422,
        "detail": "link kind 'gas_test' is not registered on this server",
        "instance": "/api/v1/uploads",
        "request_id": response.headers["X-Request-ID"],
        "reasons": [{"rule": "link_kind_registered", "kind": "gas_test"}],
    }


def test_check_link_target(world, hazards):
    inspector = world["users"]["inspector"].actor()
    target = links.check_link_target(inspector, "finding", "h-1")
    assert target.enterprise_id == world["enterprise"].id
    with pytest.raises(NotFound):
        links.check_link_target(inspector, "finding", "x-1")
    with pytest.raises(NotFound):
        links.check_link_target(world["users"]["manager_b"].actor(), "finding", "h-1")
    with pytest.raises(UnknownLinkKind):
        links.check_link_target(inspector, "stand_in", "r-1")
    with pytest.raises(RuleViolation):
        links.check_link_target(inspector, "finding", "bad id!")


def test_a_resolver_may_answer_true_false_or_none(world):
    inspector = world["users"]["inspector"].actor()
    links.register_link_kind("stand_in", lambda actor, link_id: link_id == "ok")
    try:
        assert links.check_link_target(inspector, "stand_in", "ok") == links.LinkTarget()
        with pytest.raises(NotFound):
            links.check_link_target(inspector, "stand_in", "no")
    finally:
        links.unregister_link_kind("stand_in")


def test_arrival_hooks_run_through_the_outbox_once_per_link_and_a_failure_is_retried(
    client, world, hazards, jobs, db, caplog
):
    seen = []
    broken = {"on": True}

    def hook(sha256, link):
        seen.append((sha256, link))

    def flaky(sha256, link):
        if broken["on"]:
            raise RuntimeError("hook bug")

    links.register_arrival_hook("finding", flaky)
    links.register_arrival_hook("finding", hook)
    try:
        data = h.jpeg()
        headers = world["headers"]["inspector"]
        assert h.upload(client, headers, data).status_code == 204
        meta = h.photo_metadata(data, "h-2", item_code="CS-01")
        assert h.upload(client, headers, data, meta=meta).status_code == 204
        assert seen == []  # not inline: the outbox runs them, on a worker
        with caplog.at_level(logging.ERROR, logger="media.links"):
            jobs()
        sha = h.sha256(data)
        first, second = (
            links.LinkRef("finding", "h-1", None),
            links.LinkRef("finding", "h-2", "CS-01"),
        )
        assert seen == [(sha, first), (sha, second)]  # the other hooks still ran
        assert "photo arrival hook failed" in caplog.text
        entries = list(db["outbox"].find({"job": links.ARRIVAL_JOB}).sort("created_at", 1))
        assert [e["args"] for e in entries] == [
            {"sha256": sha, "kind": "finding", "link_id": "h-1", "item_code": None},
            {"sha256": sha, "kind": "finding", "link_id": "h-2", "item_code": "CS-01"},
        ]
        # Failed, so not done: ready for the retry RQ scheduled, with the reason.
        assert {(e["state"], e["attempts"]) for e in entries} == {("ready", 1)}
        assert all("hook bug" in e["last_error"] for e in entries)
        broken["on"] = False
        for entry in entries:  # what RQ's retry runs when it is due
            assert run_entry(entry["_id"]) == {"done": True}
        assert {e["state"] for e in db["outbox"].find({"job": links.ARRIVAL_JOB})} == {"done"}
        assert len(seen) == 4  # hooks are idempotent: a retry calls them all again
    finally:
        links.unregister_arrival_hook("finding", hook)
        links.unregister_arrival_hook("finding", flaky)


def test_the_upload_that_completes_a_photo_witnesses_its_arrival_entry(client, world, hazards, db):
    data = h.jpeg()
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    [entry] = db["outbox"].find({"job": links.ARRIVAL_JOB})
    [upload] = db["media_uploads"].find()
    assert upload["state"] == "complete" and upload["outbox"] == [entry["_id"]]
    assert entry["witnesses"] == [
        {"c": "media_uploads", "d": upload["_id"], "f": "outbox", "t": entry["_id"]}
    ]


def test_can_see_asks_the_resolver_of_the_linked_object(client, world, hazards):
    data = h.jpeg()
    assert h.upload(client, world["headers"]["inspector"], data).status_code == 204
    photo = h.context(h.sha256(data))
    assert links.can_see(world["users"]["worker"].actor(), photo)  # via the hazard
    assert not links.can_see(world["users"]["manager_b"].actor(), photo)
    links.unregister_link_kind("finding")  # nobody resolves hazards any more
    assert not links.can_see(world["users"]["worker"].actor(), photo)
    assert links.can_see(world["users"]["inspector"].actor(), photo)  # the uploader
    assert links.can_see(world["users"]["admin"].actor(), photo)
