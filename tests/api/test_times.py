"""Every time in a response is written one way: RFC 3339 in UTC with milliseconds and `Z`, by
the response schemas and by the JSON provider for raw documents (the feed, conflicts)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import marshmallow as ma

import schemas
from schemas.common import RequestSchema, Timestamp
from server.actor import Role
from server.clock import rfc3339
from tests.factories import PASSWORD, UserFactory, regulator
from tests.sync.helpers import make_world, phone_for

ONE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
#: Anything that starts like an ISO 8601 date and time, however it goes on.
LOOKS_LIKE_A_TIME = re.compile(r"^\d{4}-\d\d-\d\d[T ]\d\d:\d\d")


def _times(value, path="") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _times(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _times(v, f"{path}[{i}]")]
    if isinstance(value, str) and LOOKS_LIKE_A_TIME.match(value):
        return [(path, value)]
    return []


def test_rfc3339_writes_utc_milliseconds_and_z():
    eight = timezone(timedelta(hours=8))
    assert rfc3339(datetime(2026, 12, 1, 17, 0, tzinfo=eight)) == "2026-12-01T09:00:00.000Z"
    assert rfc3339(datetime(2026, 12, 1, 9, 0, 0, 123456, tzinfo=UTC)) == "2026-12-01T09:00:00.123Z"
    assert rfc3339(datetime(2026, 12, 1, 9, 0)) == "2026-12-01T09:00:00.000Z"


def test_every_response_schema_writes_times_with_the_one_format():
    loose = []
    for module_info in pkgutil.iter_modules(schemas.__path__):
        module = importlib.import_module(f"schemas.{module_info.name}")
        for name, schema in inspect.getmembers(module, inspect.isclass):
            if not issubclass(schema, ma.Schema) or issubclass(schema, RequestSchema):
                continue
            if schema.__module__ != module.__name__:
                continue  # imported for reference (e.g. a push handler's request data)
            for field_name, field in schema._declared_fields.items():
                if isinstance(field, ma.fields.DateTime) and not isinstance(field, Timestamp):
                    loose.append(f"{module.__name__}.{name}.{field_name}")
    assert loose == []


def test_times_in_responses_are_rfc3339_utc_with_milliseconds(client, auth_headers, published):
    jurisdiction, enterprise, (inspector,) = make_world()
    phone = phone_for(client, inspector, auth_headers, device_id="time-phone")
    inspection_id = phone.create_inspection(
        enterprise_id=str(enterprise.id),
        checklist_code="CS",
        checklist_version=1,
        started_at_device="2026-12-01T17:00:00.5+08:00",
    )
    assert phone.push()[0]["status"] == "applied"
    bearer = {"Authorization": f"Bearer {phone.token}"}
    conflict = client.post(
        "/api/v1/sync/push",
        json={
            "device_id": "time-phone",
            "device_time": "2026-12-01T17:00:01+08:00",
            "oldest_unsynced_at": "2026-11-30T08:00:00-03:30",
            "pending_mutations": 1,
            "mutations": [
                {
                    "mutation_id": str(uuid.uuid4()),
                    "collection": "inspections",
                    "op": "update",
                    "id": inspection_id,
                    "base_version": 7,
                    "data": {"note": "late"},
                }
            ],
        },
        headers=bearer,
    )
    assert conflict.get_json()["receipts"][0]["status"] == "conflict"
    admin = auth_headers(UserFactory(role=Role.ADMIN.value))
    supervisor = auth_headers(regulator(Role.SUPERVISOR, jurisdiction))
    responses = [
        client.post(
            "/api/v1/auth/token", json={"username": inspector.username, "password": PASSWORD}
        ),
        conflict,
        client.get("/api/v1/sync/pull", query_string={"device_id": "time-phone"}, headers=bearer),
        client.get("/api/v1/sync/devices", headers=supervisor),
        client.get("/api/v1/me", headers=admin),
        client.get("/api/v1/enterprises", headers=admin),
        client.get(f"/api/v1/enterprises/{enterprise.id}", headers=admin),
        client.get("/api/v1/jurisdictions", headers=admin),
        client.get("/api/v1/users", headers=admin),
        client.get("/api/v1/devices", headers=admin),
        client.get("/api/v1/checklists", headers=admin),
    ]
    seen = [t for r in responses for t in _times(r.get_json())]
    paths = {re.sub(r"\[\d+\]", "[]", path) for path, _ in seen}
    for expected in (
        ".receipts[].server_copy.created_at",
        ".receipts[].server_copy.started_at_device",
        ".server_time",
        ".changes[].data.received_at",
        ".changes[].data.published_at",
        "[].oldest_unsynced_at",
        ".created_at",
        ".expires_at",
        ".user.created_at",
        "[].published_at",
        "[].registered_at",
    ):
        assert expected in paths, expected
    assert [(p, t) for p, t in seen if not ONE_FORMAT.match(t)] == []
