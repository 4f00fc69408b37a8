"""Pushing entry permits and their records from phones, offline like everything else.

A permit is created and edited as a draft by the enterprise's manager (op `create`, `update`);
its states change through its transitions (server.services.spaces.permits), never by a push.
A record is only ever created (op `create`): append-only, one document per record with the id
its phone made, so the attendant, the gas tester and the manager, each offline, never touch
the same document. The data schemas here are also the REST request schemas (schemas.permit).
"""

from __future__ import annotations

import marshmallow as ma

from server.clock import DEVICE_TIMES
from server.errors import RuleViolation
from server.models.permit import PermitStatus
from server.services.spaces import alarms, ledger, permits
from sync.collections import BY_NAME
from sync.handler import PushContext, PushHandler
from sync.policy import Refusal

_OBJECT_ID = ma.validate.Regexp(r"^[0-9a-f]{24}$")
_DEVICE_TIME = ma.validate.Range(*DEVICE_TIMES)
#: Gas codes of checklists/data/gas_limits.yaml, and the two flammable measures.
_GAS_CODE = ma.validate.Regexp(r"^[A-Za-z0-9_]{1,16}$")


def _object_id(**kw) -> ma.fields.String:
    return ma.fields.String(
        validate=_OBJECT_ID, metadata={"pattern": _OBJECT_ID.regex.pattern}, **kw
    )


class EntrantSchema(ma.Schema):
    """An authorised entrant: a user, and for a contractor's worker the contractor."""

    class Meta:
        unknown = ma.RAISE

    user_id = _object_id(required=True)
    name = ma.fields.String(validate=ma.validate.Length(1, 100))
    employer = ma.fields.String(
        validate=ma.validate.Length(1, 200),
        metadata={"description": "the contractor of an outsourced job (none: the enterprise)"},
    )


class PermitDataSchema(ma.Schema):
    """A draft permit as sent (all fields to create; some of them to edit a draft)."""

    class Meta:
        unknown = ma.RAISE

    space_id = _object_id()
    work = ma.fields.String(validate=ma.validate.Length(1, 500))
    valid_from = ma.fields.AwareDateTime(validate=_DEVICE_TIME)
    valid_to = ma.fields.AwareDateTime(validate=_DEVICE_TIME)
    attendants = ma.fields.List(_object_id(), validate=ma.validate.Length(1, 10))
    entrants = ma.fields.List(ma.fields.Nested(EntrantSchema), validate=ma.validate.Length(1, 100))
    max_headcount = ma.fields.Integer(strict=True, validate=ma.validate.Range(1, 100))
    device_time = ma.fields.AwareDateTime(validate=_DEVICE_TIME)

    def __init__(self, op: str, **kwargs):
        super().__init__(**kwargs)
        self.op = op

    @ma.validates_schema
    def _complete(self, data, **kwargs):
        if self.op == "create":
            needed = ("space_id", "work", "valid_from", "valid_to", "attendants", "entrants")
            needed += ("max_headcount",)
            if missing := [f for f in needed if f not in data]:
                raise ma.ValidationError({f: ["required to create"] for f in missing})
        elif "space_id" in data:
            raise ma.ValidationError({"space_id": ["a permit stays on its space"]})


class ReadingSchema(ma.Schema):
    """One reading: value and unit; a flammable reading may name its gas or its LEL."""

    class Meta:
        unknown = ma.RAISE

    value = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(0, 1e6))
    unit = ma.fields.String(required=True, validate=ma.validate.OneOf(permits.UNITS))
    gas = ma.fields.String(validate=_GAS_CODE)
    lel = ma.fields.Float(allow_nan=False, validate=ma.validate.Range(0.1, 100))


class PermitRecordDataSchema(ma.Schema):
    """A record appended to a permit."""

    class Meta:
        unknown = ma.RAISE

    permit_id = ma.fields.UUID(required=True)
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(permits.RECORD_KINDS))
    at = ma.fields.AwareDateTime(
        required=True,
        validate=_DEVICE_TIME,
        metadata={"description": "when it happened (the recorder's clock)"},
    )
    instrument = ma.fields.String(validate=ma.validate.Length(1, 200))
    readings = ma.fields.Dict(
        keys=ma.fields.String(validate=_GAS_CODE),
        values=ma.fields.Nested(ReadingSchema),
        validate=ma.validate.Length(max=30),
        metadata={"description": "by gas code (gas tests and monitoring only)"},
    )
    location = ma.fields.String(validate=ma.validate.Length(1, 200))
    note = ma.fields.String(validate=ma.validate.Length(1, 1000))

    @ma.post_load
    def _ids(self, data, **kwargs):
        if "permit_id" in data:
            data["permit_id"] = str(data["permit_id"])
        return data


class PermitHandler(PushHandler):
    synced = BY_NAME["permits"]
    kind = "permit"
    ops = ("create", "update")
    fixed_fields = frozenset({"space_id"})

    def __init__(self) -> None:
        self._schemas = {op: PermitDataSchema(op) for op in self.ops}

    def data_schema(self, op: str) -> ma.Schema:
        return self._schemas[op]

    def create(self, ctx: PushContext, data: dict) -> dict:
        data = {k: v for k, v in data.items() if k != "device_time"}
        return permits.new_permit(ctx.actor, data)

    def refusal(self, ctx: PushContext, current: dict, op: str) -> Refusal | None:
        if current["status"] != PermitStatus.DRAFT:
            return Refusal("NOT_DRAFT", f"the permit is {current['status']}: edit only a draft")
        return None

    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        data = {k: v for k, v in data.items() if k != "device_time"}
        return permits.draft_changes(ctx.actor, current, data)


class PermitRecordHandler(PushHandler):
    synced = BY_NAME["permit_records"]
    kind = "permit_record"
    ops = ("create",)

    def __init__(self) -> None:
        self._schema = PermitRecordDataSchema()

    def data_schema(self, op: str) -> ma.Schema:
        return self._schema

    def create(self, ctx: PushContext, data: dict) -> dict:
        return permits.new_record(ctx.actor, data)

    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        raise RuleViolation("a permit's records are append-only")

    def device_time(self, op: str, data: dict):
        return data.get("at")

    def settle(self, ctx: PushContext, docs: list[dict]) -> None:
        # A monitoring reading out of its limits while people are inside raises an alarm.
        for doc in docs:
            alarms.on_record(doc, ledger.gas_limits(), now=ctx.now)
