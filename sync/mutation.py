"""The envelope of one pushed mutation, checked record by record so one bad record is reported
in its own receipt and never blocks the rest of the batch; the handler of the named collection
checks the `data` (sync.handler)."""

from __future__ import annotations

import json

import marshmallow as ma
import orjson

from server.errors import RuleViolation, TooLarge, field_errors
from server.models.synced import UUID_PATTERN
from sync.handler import OPS, HandlerRegistry, PushHandler

#: Largest mutation accepted, as JSON (a draft with 30 answers is ~10 KB; photos travel apart).
MAX_RECORD_BYTES = 256 * 1024
#: Most mutations in one push; a phone with more sends several batches.
MAX_BATCH = 200


class EnvelopeSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    mutation_id = ma.fields.String(required=True, validate=ma.validate.Regexp(UUID_PATTERN))
    collection = ma.fields.String(required=True)
    op = ma.fields.String(required=True, validate=ma.validate.OneOf(OPS))
    id = ma.fields.String(required=True, validate=ma.validate.Regexp(UUID_PATTERN))
    base_version = ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1))
    data = ma.fields.Dict(load_default=dict)

    @ma.validates_schema
    def _check(self, data, **kwargs):
        if data["op"] == "create" and "base_version" in data:
            raise ma.ValidationError({"base_version": ["a create has no base version"]})
        if data["op"] != "create" and "base_version" not in data:
            raise ma.ValidationError({"base_version": [f"required to {data['op']}"]})


_ENVELOPE = EnvelopeSchema()


def parse(raw: object, registry: HandlerRegistry) -> tuple[dict, PushHandler]:
    """One mutation, validated, with the handler of its collection; RuleViolation (or
    TooLarge) naming what is wrong."""
    size = _json_size(raw)
    if size > MAX_RECORD_BYTES:
        raise TooLarge(
            f"the mutation is {size} bytes; at most {MAX_RECORD_BYTES} are accepted",
            limit=MAX_RECORD_BYTES,
            unit="bytes",
        )
    if not isinstance(raw, dict):
        raise RuleViolation("a mutation must be a JSON object")
    m = _load(_ENVELOPE, raw)
    handler = registry.get(m["collection"])
    if handler is None:
        names = ", ".join(registry.names()) or "none"
        raise _invalid([_error("collection", f"not a pushable collection; pushable: {names}")])
    if m["op"] not in handler.ops:
        raise _invalid([_error("op", f"{m['collection']} accept {', '.join(handler.ops)}")])
    if m["op"] != "create":
        fixed = sorted(handler.fixed_fields & set(m["data"]))
        if fixed:
            raise _invalid([_error(f"data.{f}", "fixed when created") for f in fixed])
    m["data"] = _load(handler.data_schema(m["op"]), m["data"], prefix="data")
    return m, handler


def _json_size(raw: object) -> int:
    """Bytes of `raw` as compact UTF-8 JSON (orjson; the standard encoder for what orjson
    refuses, such as integers beyond 64 bits)."""
    try:
        return len(orjson.dumps(raw))
    except orjson.JSONEncodeError:
        return len(json.dumps(raw, default=str, ensure_ascii=False, separators=(",", ":")).encode())


def _load(schema: ma.Schema, raw: dict, *, prefix: str = "") -> dict:
    try:
        return schema.load(raw)
    except ma.ValidationError as exc:
        raise _invalid(field_errors(exc.messages, prefix)) from None


def _error(field: str, message: str) -> dict:
    return {"field": field, "messages": [message]}


def _invalid(errors: list[dict]) -> RuleViolation:
    summary = "; ".join(f"{e['field']}: {' '.join(e['messages'])}" for e in errors[:3])
    return RuleViolation(f"invalid mutation: {summary}", errors=errors)
