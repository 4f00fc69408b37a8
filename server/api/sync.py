"""`/api/v1/sync`: the phone's change feed (pull), mutation batches (push), and the devices a
supervisor should chase. The rules live in `sync/`; this module only translates HTTP."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from mongoengine.connection import get_db

from media.blobstore import BlobStore
from schemas.sync import (
    DeviceStateQuerySchema,
    DeviceStatusSchema,
    PullPageSchema,
    PullQuerySchema,
    PushResultSchema,
    PushSchema,
)
from server.api.context import current_actor, services
from server.clock import utcnow
from server.errors import DomainError
from server.services import outbox
from sync import feed, telemetry
from sync.mutation import MAX_BATCH
from sync.push import PushContext, push

blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync", description="Offline sync")


class BatchTooLarge(DomainError):
    status = 413
    title = "Batch too large"
    type_slug = "batch-too-large"


def _report(args) -> telemetry.Report:
    return telemetry.Report(
        device_time=args.get("device_time"),
        pending_mutations=args.get("pending_mutations"),
        pending_photo_bytes=args.get("pending_photo_bytes"),
        oldest_unsynced_at=args.get("oldest_unsynced_at"),
        app_version=args.get("app_version"),
    )


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
            _report(args),
            now=now,
            kind="pull",
            skew_limit_s=services().settings.clock_skew_seconds,
            cursor=feed.decode_cursor(page.cursor),
        )
        return {
            "changes": page.changes,
            "cursor": page.cursor,
            "has_more": page.has_more,
            "high_water": page.high_water,
            "server_time": now,
        }


@blp.route("/push")
class Push(MethodView):
    @blp.doc(operationId="syncPush")
    @blp.arguments(PushSchema)
    @blp.response(200, PushResultSchema)
    def post(self, body):
        """Apply a batch of mutations; every one gets a receipt (applied, duplicate, conflict,
        rejected) in this 200 answer, in order."""
        if len(body["mutations"]) > MAX_BATCH:
            raise BatchTooLarge(
                f"{len(body['mutations'])} mutations in one push; send at most {MAX_BATCH}"
            )
        actor = current_actor()
        device = telemetry.device_of(actor, body["device_id"])
        now = utcnow()
        report = _report(body)
        offset = telemetry.clock_offset(report, now)
        ctx = PushContext(
            db=get_db(),
            blobs=BlobStore(get_db()),
            actor=actor,
            device_id=device.device_id,
            now=now,
            clock_offset_s=offset,
            skew_limit_s=services().settings.clock_skew_seconds,
        )
        receipts = push(ctx, body["mutations"])
        telemetry.record(
            device,
            report,
            now=now,
            kind="push",
            skew_limit_s=services().settings.clock_skew_seconds,
        )
        if body["mutations"]:
            # The pushed documents are written: their sequencing is recorded, not just queued.
            outbox.record([outbox.Job("feed.sequence")], now=now)
        return {"receipts": receipts, "server_time": now, "clock_offset_s": offset}


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
