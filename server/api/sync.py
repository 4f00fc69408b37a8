"""`/api/v1/sync`: the phone's change feed (pull), mutation batches (push), and the devices a
supervisor should chase. The rules live in `sync/`; this module only translates HTTP."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from mongoengine.connection import get_db

from schemas.sync import (
    DeviceStateQuerySchema,
    DeviceStatusSchema,
    PullPageSchema,
    PullQuerySchema,
    PushResultSchema,
    PushSchema,
)
from server.api.blueprint import Blueprint
from server.api.context import current_actor, services
from server.clock import utcnow
from sync import feed, push, telemetry

blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync", description="Offline sync")


def _skew_limit() -> int:
    return services().settings.clock_skew_seconds


@blp.route("/pull")
class Pull(MethodView):
    @blp.doc(operationId="syncPull")
    @blp.arguments(PullQuerySchema, location="query")
    @blp.response(200, PullPageSchema)
    def get(self, args):
        """The next page of the caller's changes after `cursor` (tombstones included)."""
        actor = current_actor()
        device = telemetry.device_of(actor, args["device_id"])
        page = feed.pull(get_db(), actor, cursor=args["cursor"], limit=args["limit"])
        now = utcnow()
        telemetry.record(
            device,
            telemetry.Report.of(args),
            now=now,
            kind="pull",
            skew_limit_s=_skew_limit(),
            cursor=feed.decode_cursor(page.cursor),
        )
        # Sent as it is: the changes are the stored documents already shaped for the phone
        # (sync.collections), which the schema above documents; dumping 500 of them through
        # marshmallow only copied them, for a sixth of a first pull's time.
        return current_app.json.response(
            {
                "changes": page.changes,
                "cursor": page.cursor,
                "has_more": page.has_more,
                "high_water": page.high_water,
                "server_time": now,
            }
        )


@blp.route("/push")
class Push(MethodView):
    @blp.doc(operationId="syncPush")
    @blp.arguments(PushSchema)
    @blp.response(200, PushResultSchema)
    def post(self, body):
        """Apply a batch of mutations; every one gets a receipt (applied, duplicate, conflict,
        rejected) in this 200 answer, in order."""
        now = utcnow()
        result = push.receive(get_db(), current_actor(), body, now=now, skew_limit_s=_skew_limit())
        return {
            "receipts": result.receipts,
            "server_time": now,
            "clock_offset_s": result.clock_offset_s,
        }


@blp.route("/devices")
class DevicesNeedingAttention(MethodView):
    @blp.doc(operationId="listDevicesNeedingAttention")
    @blp.arguments(DeviceStateQuerySchema, location="query")
    @blp.response(200, DeviceStatusSchema(many=True))
    def get(self, args):
        """Devices in the caller's jurisdiction holding unsynced work, or stalled with it."""
        now = utcnow()
        devices = telemetry.devices_needing_attention(current_actor(), now=now, state=args["state"])
        return [
            {**d.to_mongo().to_dict(), "stalled": telemetry.is_stalled(d, now)} for d in devices
        ]
