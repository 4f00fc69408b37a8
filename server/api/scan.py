"""`POST /api/v1/spaces/scan`: the decision at a confined space (enter, exit, attendant check-in
and check-out), allowed or denied with every reason (server.services.spaces.scan); and
`GET /api/v1/spaces/{space_id}/entry-preview`: what that scan would decide now, without
effect (a read: no nonce, nothing recorded), for an app to show before the tap."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from flask.views import MethodView

from checklists.loader import load_gas_limits
from schemas.scan import EntryPreviewQuerySchema, EntryPreviewSchema, ScanOutcomeSchema, ScanSchema
from server.api.blueprint import Blueprint, reverifies_caller
from server.api.context import actor_read_again, caller_to_verify, current_actor, settings
from server.clock import utcnow
from server.models.scoping import get_or_404
from server.models.space import Space
from server.services.auth import StaleCaller
from server.services.spaces import labels, scan
from server.services.spaces.entry_rules import Fix

blp = Blueprint("scan", __name__, url_prefix="/api/v1", description="Confined spaces")

#: The shipped gas-test rules, read once.
_limits = cache(load_gas_limits)
#: The label keys of the configured seeds, derived once per seed.
_keys = cache(labels.keys_from)


@blp.route("/spaces/scan")
class SpaceScan(MethodView):
    @reverifies_caller
    @blp.doc(operationId="scanSpace")
    @blp.arguments(ScanSchema)
    @blp.response(200, ScanOutcomeSchema)
    def post(self, body):
        """Scan a label to enter, exit, or check in or out as attendant: 200 with the decision
        (allowed or not, and every reason); 409 for a replayed request."""
        config = scan_settings(settings())
        try:
            return _scan(current_actor(), body, config, caller_to_verify())
        except StaleCaller:
            return _scan(actor_read_again(), body, config, None)


@blp.route("/spaces/<space_id>/entry-preview")
class SpaceEntryPreview(MethodView):
    @blp.doc(operationId="previewSpaceEntry")
    @blp.arguments(EntryPreviewQuerySchema, location="query")
    @blp.response(200, EntryPreviewSchema)
    def get(self, query, space_id):
        """What a scan of `action` would decide now, by the same rules, with every reason;
        nothing is recorded and no nonce is taken (the tap may still differ if the roster or
        the permit changes first)."""
        actor = current_actor()
        space = get_or_404(Space.objects.for_actor(actor), space_id, "space")
        return scan.preview(
            actor,
            space.to_mongo().to_dict(),
            query["action"],
            scan_settings(settings()),
            now=utcnow(),
            worker_id=query["worker_id"],
            token=query["token"],
        )


def _scan(actor, body: dict, config: scan.ScanSettings, caller: str | None) -> dict:
    fix = body.get("fix")
    request = scan.ScanRequest(
        token=body["token"],
        action=body["action"],
        nonce=body["nonce"],
        sent_at=body["sent_at"],
        device_id=actor.device_id or body.get("device_id") or "-",
        worker_id=body.get("worker_id"),
        space_id=body.get("space_id"),
        fix=Fix(fix["longitude"], fix["latitude"], fix.get("accuracy_m")) if fix else None,
    )
    return scan.scan(actor, request, config, now=utcnow(), caller=caller)


def scan_settings(config) -> scan.ScanSettings:
    """The keys, gas-test rules and nonce window every scan is decided with (the worker page's
    too: one decision path)."""
    window = timedelta(seconds=config.scan_nonce_window_seconds)
    keys = _keys(config.label_signing_keys, config.audit_signing_key)
    return scan.ScanSettings(keys, _limits(), window)
