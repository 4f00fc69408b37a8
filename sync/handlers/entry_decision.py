"""Pushing the entry decisions an attendant's phone made offline (op `create` only: a decision
is a signed fact, never edited).

The data is what the phone signed (server.services.spaces.offline.SIGNED) and the signature.
The handler turns the feed cursor the phone reported into the position and server time it
stands for — held to what the server actually served this device, so a phone cannot claim a
later sync than it had — and after the batch's writes merges the device's decisions that are
next in its sequence (server.services.spaces.offline_merge). A replayed push is a duplicate:
the decision's id and its (device, number) are each taken once, and the same signed decision
under a new id is answered as the one stored (its id in the receipt).
"""

from __future__ import annotations

import marshmallow as ma

from server.clock import DEVICE_TIMES
from server.errors import RuleViolation
from server.models.device import Device
from server.models.entry import Action
from server.services.spaces import entry_rules, ledger, offline, offline_merge
from sync import feed, sequencer
from sync.collections import BY_NAME
from sync.handler import PushContext, PushHandler

_OBJECT_ID = ma.validate.Regexp(r"^[0-9a-f]{24}$")


def _object_id(**kw) -> ma.fields.String:
    return ma.fields.String(
        validate=_OBJECT_ID, metadata={"pattern": _OBJECT_ID.regex.pattern}, **kw
    )


class EntryDecisionDataSchema(ma.Schema):
    """An offline decision as the phone signed it, and its signature."""

    class Meta:
        unknown = ma.RAISE

    device_id = ma.fields.String(required=True, validate=ma.validate.Length(8, 128))
    device_seq = ma.fields.Integer(required=True, strict=True, validate=ma.validate.Range(1, 2**53))
    space_id = _object_id(required=True)
    permit_id = ma.fields.UUID(required=True)
    worker_id = _object_id(required=True)
    action = ma.fields.String(required=True, validate=ma.validate.OneOf(Action.ALL))
    allowed = ma.fields.Boolean(required=True)
    reasons = ma.fields.List(
        ma.fields.String(validate=ma.validate.Length(1, 40)),
        required=True,
        validate=ma.validate.Length(max=40),
        metadata={"description": "the reason codes the phone's rules gave, in their order"},
    )
    gas_limits_version = ma.fields.Integer(
        required=True, strict=True, validate=ma.validate.Range(1, 10**6)
    )
    device_time = ma.fields.AwareDateTime(required=True, validate=ma.validate.Range(*DEVICE_TIMES))
    synced_through = ma.fields.String(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(max=64),
        metadata={"description": "the feed cursor the phone had pulled up to"},
    )
    signature = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 200),
        metadata={"description": "base64 Ed25519 signature by the device's key"},
    )

    @ma.post_load
    def _ids(self, data, **kwargs):
        data["permit_id"] = str(data["permit_id"])
        return data

    @ma.validates("reasons")
    def _known(self, value, **kwargs):
        known = entry_rules.load_rules().reasons
        if unknown := [code for code in value if code not in known]:
            raise ma.ValidationError(f"unknown reason codes: {', '.join(unknown)}")


class EntryDecisionHandler(PushHandler):
    synced = BY_NAME["entry_decisions"]
    kind = "entry_decision"
    ops = ("create",)

    def __init__(self) -> None:
        self._schema = EntryDecisionDataSchema()

    def data_schema(self, op: str) -> ma.Schema:
        return self._schema

    def original(self, ctx: PushContext, data: dict) -> dict | None:
        """The same signed decision stored under another id (its device, number and
        signature: Ed25519 is deterministic, so the same decision is the same signature)."""
        return offline.stored_as(ctx.actor, ctx.device_id, data)

    def create(self, ctx: PushContext, data: dict) -> dict:
        seq, at = self._synced(ctx, data.get("synced_through"))
        return offline.new_decision(ctx.actor, ctx.device_id, data, synced_seq=seq, synced_at=at)

    def changes(self, ctx: PushContext, current: dict, op: str, data: dict) -> dict:
        raise RuleViolation("an offline decision is a signed fact: it is never changed")

    def device_time(self, op: str, data: dict):
        return data.get("device_time")

    def settle(self, ctx: PushContext, docs: list[dict]) -> None:
        offline_merge.merge_device(
            ctx.actor,
            ctx.device_id,
            ledger.gas_limits(),
            now=ctx.now,
            skew_limit_s=ctx.skew_limit_s,
        )

    @staticmethod
    def _synced(ctx: PushContext, cursor: str | None):
        """(the feed position the phone had pulled, its server time), held to what was served
        to this device (a larger claim counts as the largest it was served)."""
        seq = feed.decode_cursor(cursor)
        device = Device._get_collection().find_one({"device_id": ctx.device_id}, {"cursor_seq": 1})
        seq = min(seq, (device or {}).get("cursor_seq") or 0)
        if seq <= 0:
            return None, None
        entry = ctx.db[sequencer.LOG].find_one(
            {"_id": {"$lte": seq}}, {"at": 1}, sort=[("_id", -1)]
        )
        return seq, entry["at"] if entry else None
