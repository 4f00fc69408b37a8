"""RQ jobs of photo uploads: the arrival hooks of a stored photo, and the maintenance the
embedded server cannot do by itself.

`photo_arrived` is the outbox job `media.links.ARRIVAL_JOB`: it runs the hooks registered for
the link's kind and raises when one failed, so the outbox retries it.

`maintain_uploads` deletes expired unfinished uploads with their bytes (TTL indexes are ignored
by the embedded MongoDB-wire server) and finishes ingests whose process died. It is idempotent
and takes no arguments; the scheduler runs it every 15 minutes (server.jobs.worker.PERIODIC)
and the worker gives it the settings it started with (`server.jobs.context`).
"""

from __future__ import annotations

import logging

from media.blobstore import BlobStore
from media.ingest import resume_stalled_ingests
from media.links import LinkRef, run_arrival_hooks
from media.tus import expire_stale_uploads
from server.clock import utcnow
from server.jobs import context
from server.models.upload import Upload

log = logging.getLogger(__name__)

#: Seconds between runs the deployment should schedule.
INTERVAL_SECONDS = 900


def photo_arrived(sha256: str, kind: str, link_id: str, item_code: str | None = None) -> None:
    """Run the arrival hooks of one link of a stored photo (raises so that a failure is retried)."""
    run_arrival_hooks(sha256, LinkRef(kind, link_id, item_code))


def maintain_uploads() -> dict:
    """Expire stale uploads and resume stalled ingests; returns the counts."""
    settings = context.settings()
    store = BlobStore(Upload._get_db())
    now = utcnow()
    expired = expire_stale_uploads(now, store=store)
    resumed = resume_stalled_ingests(now, settings=settings, store=store)
    return {"expired": expired, "resumed": resumed}
