"""Helpers of the audit tests: events made with the real builders, outbox jobs run by a burst
RQ worker, and the stored chains read back."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from rq.serializers import JSONSerializer

from server.services.audit import chain, event


def make(chain_of=None, action="thing.change", obj="t-1", *, now, **kw) -> dict:
    """An event of `action` on object `obj` (kind `thing`) in `chain_of`'s chain."""
    return event.event(
        None, action, "thing", obj, before=None, after={"v": obj}, now=now, chain=chain_of, **kw
    )


def run_jobs(redis, settings) -> None:
    """Run every queued job (outbox entries) with a burst worker on the real Redis."""
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    SimpleWorker([queue], connection=redis, serializer=JSONSerializer).work(burst=True)


def stored(db, name: str) -> list[dict]:
    """The events of chain `name`, in order."""
    return list(chain.read(db, chain.EVENTS, name, 1, max(chain.head(db, name), 1)))


def actions(db, name: str) -> list[str]:
    return [e["action"] for e in stored(db, name)]
