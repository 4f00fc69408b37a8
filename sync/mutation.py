"""The shape of one pushed mutation, checked record by record so one bad record is reported in
its own receipt and never blocks the rest of the batch."""

from __future__ import annotations

import json

import marshmallow as ma

from server.errors import DomainError, RuleViolation, field_errors
from server.models.inspection import UUID_PATTERN

#: Largest mutation accepted, as JSON (a draft with 30 answers is ~10 KB; photos travel apart).
MAX_RECORD_BYTES = 256 * 1024
#: Most mutations in one push; a phone with more sends several batches.
MAX_BATCH = 200

OPS = ("create", "update", "submit", "delete")


class RecordTooLarge(DomainError):
    status = 413
    title = "Record too large"
    type_slug = "record-too-large"


class LocationSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    longitude = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(-180, 180)
    )
    latitude = ma.fields.Float(required=True, allow_nan=False, validate=ma.validate.Range(-90, 90))
    accuracy_m = ma.fields.Float(
        load_default=None, allow_none=True, allow_nan=False, validate=ma.validate.Range(0, 1e5)
    )


class InspectionDataSchema(ma.Schema):
    """The device-owned fields of an inspection draft."""

    class Meta:
        unknown = ma.RAISE

    checklist_code = ma.fields.String(validate=ma.validate.Regexp(r"^[A-Z]{2,4}$"))
    checklist_version = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1))
    enterprise_id = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9a-f]{24}$"))
    corrects = ma.fields.String(validate=ma.validate.Regexp(UUID_PATTERN))
    unannounced = ma.fields.Boolean()
    answers = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw())
    note = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=2000))
    location = ma.fields.Nested(LocationSchema, allow_none=True)
    started_at_device = ma.fields.AwareDateTime()
    device_time = ma.fields.AwareDateTime()
    submitted_at_device = ma.fields.AwareDateTime()


class MutationSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    mutation_id = ma.fields.String(required=True, validate=ma.validate.Regexp(UUID_PATTERN))
    collection = ma.fields.String(required=True, validate=ma.validate.OneOf(["inspections"]))
    op = ma.fields.String(required=True, validate=ma.validate.OneOf(OPS))
    id = ma.fields.String(required=True, validate=ma.validate.Regexp(UUID_PATTERN))
    base_version = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1))
    data = ma.fields.Nested(InspectionDataSchema, load_default=dict)

    @ma.validates_schema
    def _check(self, data, **kwargs):
        if data["op"] == "create":
            missing = [
                f
                for f in ("checklist_code", "checklist_version", "enterprise_id")
                if f not in data["data"]
            ]
            if missing:
                raise ma.ValidationError({"data": {f: ["required to create"] for f in missing}})
            if "base_version" in data:
                raise ma.ValidationError({"base_version": ["a create has no base version"]})
        else:
            if "base_version" not in data:
                raise ma.ValidationError({"base_version": [f"required to {data['op']}"]})
            pinned = {"checklist_code", "checklist_version", "enterprise_id", "corrects"}
            fixed = sorted(pinned & set(data["data"]))
            if fixed:
                raise ma.ValidationError({"data": {f: ["fixed when created"] for f in fixed}})


_SCHEMA = MutationSchema()


def parse(raw: object) -> dict:
    """One mutation, validated; RuleViolation (or RecordTooLarge) naming what is wrong."""
    size = len(json.dumps(raw, default=str, ensure_ascii=False).encode())
    if size > MAX_RECORD_BYTES:
        raise RecordTooLarge(
            f"the mutation is {size} bytes; at most {MAX_RECORD_BYTES} are accepted"
        )
    if not isinstance(raw, dict):
        raise RuleViolation("a mutation must be a JSON object")
    try:
        return _SCHEMA.load(raw)
    except ma.ValidationError as exc:
        errors = field_errors(exc.messages)
        summary = "; ".join(f"{e['field']}: {' '.join(e['messages'])}" for e in errors[:3])
        raise RuleViolation(f"invalid mutation: {summary}", errors=errors) from None
