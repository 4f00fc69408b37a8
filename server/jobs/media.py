"""RQ jobs of photo uploads: the arrival hooks of a stored photo, and the maintenance the
embedded server cannot do by itself.

`photo_arrived` is the outbox job `media.links.ARRIVAL_JOB`: it runs the hooks registered for
the link's kind and raises when one failed, so the outbox retries it.

`maintain_uploads` deletes the chunks of PATCHes whose request or process is gone (e.g.
interrupted by a MongoDB crash), expired unfinished uploads with their bytes (TTL indexes
are ignored by the embedded MongoDB-wire server) and finishes ingests whose request or
process died. `resume_ingests` does only the last, often: an ingest whose holder is gone is
taken over at once (`media.holder`), so a photo received in full is stored within a minute
of its request's death rather than after a lease. Both are idempotent and take no
arguments; the scheduler queues them (server.jobs.worker.PERIODIC) and the worker gives them
the settings it started with (`server.jobs.context`).
"""

from __future__ import annotations

import logging

from media import holder
from media.blobstore import BlobStore
from media.ingest import resume_stalled_ingests
from media.links import LinkRef, run_arrival_hooks
from media.tus import discard_dead_attempts, expire_stale_uploads
from server.clock import utcnow
from server.jobs import context
from server.models.upload import Upload

log = logging.getLogger(__name__)

#: Seconds between runs the deployment should schedule.
INTERVAL_SECONDS = 900
RESUME_INTERVAL_SECONDS = 60


def photo_arrived(sha256: str, kind: str, link_id: str, item_code: str | None = None) -> None:
    """Run the arrival hooks of one link of a stored photo (raises so that a failure is retried)."""
    run_arrival_hooks(sha256, LinkRef(kind, link_id, item_code))


def maintain_uploads() -> dict:
    """Discard dead attempts, expire stale uploads, resume stalled ingests; the counts."""
    settings = context.settings()
    store = BlobStore(Upload._get_db())
    now = utcnow()
    discarded = discard_dead_attempts(now, store=store)
    expired = expire_stale_uploads(now, store=store)
    resumed = resume_stalled_ingests(now, settings=settings, store=store)
    holder.forget_silent(Upload._get_db(), now)
    return {"discarded": discarded, "expired": expired, "resumed": resumed}


def resume_ingests() -> dict:
    """Finish the ingests whose request or process is gone; the count."""
    store = BlobStore(Upload._get_db())
    return {"resumed": resume_stalled_ingests(utcnow(), settings=context.settings(), store=store)}
