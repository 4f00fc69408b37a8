"""RQ jobs of photo uploads: maintenance the embedded server cannot do by itself.

`maintain_uploads` deletes expired unfinished uploads with their bytes (TTL indexes are
ignored by the embedded MongoDB-wire server) and finishes ingests whose process died. It is
idempotent and takes no arguments; `server.jobs.worker` queues it every 15 minutes and gives
it the settings it started with (`server.jobs.context`).
"""

from __future__ import annotations

import logging

from media.blobstore import BlobStore
from media.ingest import resume_stalled_ingests
from media.tus import expire_stale_uploads
from server.clock import utcnow
from server.jobs import context
from server.models.upload import Upload

log = logging.getLogger(__name__)

#: Seconds between runs the deployment should schedule.
INTERVAL_SECONDS = 900


def maintain_uploads() -> dict:
    """Expire stale uploads and resume stalled ingests; returns the counts."""
    settings = context.settings()
    store = BlobStore(Upload._get_db())
    now = utcnow()
    expired = expire_stale_uploads(now, store=store)
    resumed = resume_stalled_ingests(now, settings=settings, store=store)
    return {"expired": expired, "resumed": resumed}
