"""RQ jobs of confined spaces: forgetting scan nonces once their requests can only be stale."""

from __future__ import annotations

from datetime import timedelta

from server.clock import utcnow
from server.jobs import context
from server.services.spaces import scan

PRUNE_JOB_ID = "scan-nonces-prune"


def prune_scan_nonces() -> dict:
    """Delete nonces older than twice the freshness window; idempotent."""
    window = timedelta(seconds=context.settings().scan_nonce_window_seconds)
    return {"pruned": scan.prune_nonces(now=utcnow(), window=window)}
