"""Shared pieces of the sync tests: a small world, passing answers, registered phones."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo import MongoClient, monitoring
from pymongo.database import Database

from checklists.answer import NO
from checklists.template import AnswerType, ChecklistTemplate
from server.actor import Role
from server.models.device import Device
from sync.client import Phone, WsgiTransport
from tests.factories import EnterpriseFactory, JurisdictionFactory, regulator


def passing_value(item):
    if item.answer is AnswerType.YES_NO_NA:
        return "yes"
    if item.answer in (AnswerType.NUMERIC, AnswerType.GAS_READING):
        rule = item.pass_rule
        return rule.min if rule.min is not None else rule.max
    if item.answer is AnswerType.TEXT:
        return "现场已确认"
    return next(c.code for c in item.choices if c.passes)


def passing_answers(template: ChecklistTemplate, limit: int | None = None) -> dict:
    items = template.items[:limit] if limit else template.items
    return {item.code: {"value": passing_value(item)} for item in items}


def failing_yes_no_item(template: ChecklistTemplate, *, photo_required: bool):
    return next(
        i
        for i in template.items
        if i.answer is AnswerType.YES_NO_NA and i.photo_required_on_fail is photo_required
    )


FAIL = NO


def make_world(*, inspectors: int = 1):
    jurisdiction = JurisdictionFactory()
    enterprise = EnterpriseFactory(jurisdiction_id=jurisdiction.id)
    people = [regulator(Role.INSPECTOR, jurisdiction) for _ in range(inspectors)]
    return jurisdiction, enterprise, people


def phone_for(client, user, auth_headers, *, device_id: str, transport=None, seed=0) -> Phone:
    Device(device_id=device_id, user_id=user.id, jurisdiction_id=user.jurisdiction_id).save()
    token = auth_headers(user, device_id=device_id)["Authorization"].split(" ", 1)[1]
    return Phone(transport or WsgiTransport(client), token=token, device_id=device_id, seed=seed)


class LogReads(monitoring.CommandListener):
    """Counts the change-feed log entries the server sends back to one client, by whether
    they came with phone copies (`sent[True]`) or without (`sent[False]`)."""

    def __init__(self):
        self.sent = {True: 0, False: 0}

    @property
    def entries(self) -> int:
        return self.sent[True] + self.sent[False]

    def started(self, event):
        pass

    def succeeded(self, event):
        cursor = event.reply.get("cursor") if event.command_name in ("find", "getMore") else None
        if cursor and cursor.get("ns", "").endswith(".sync_log"):
            for entry in cursor.get("firstBatch") or cursor.get("nextBatch") or ():
                self.sent["v" in entry] += 1

    def failed(self, event):
        pass


@contextmanager
def watched(settings, listener: monitoring.CommandListener) -> Iterator[Database]:
    """The test database through a client of its own that reports to `listener`."""
    client = MongoClient(
        settings.mongodb_uri,
        event_listeners=[listener],
        tz_aware=True,
        uuidRepresentation="standard",
    )
    try:
        yield client[settings.mongodb_database]
    finally:
        client.close()
