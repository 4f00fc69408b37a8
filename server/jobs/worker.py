"""`python -m server.jobs.worker`: an RQ worker with its scheduler, configured like the API.

Jobs are JSON-serialized. The default worker forks per job; the MongoDB connection is lazy
(`connect=False`), so each job process opens its own after the fork.
"""

from __future__ import annotations

import logging

from rq import Queue, Worker
from rq.serializers import JSONSerializer

from server.config import Settings
from server.db import connect_mongo, redis_client
from server.logs import configure_logging

log = logging.getLogger(__name__)


def main() -> None:
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    connect_mongo(settings)
    redis = redis_client(settings)
    queue = Queue(settings.rq_queue, connection=redis, serializer=JSONSerializer)
    worker = Worker([queue], connection=redis, serializer=JSONSerializer)
    log.info("worker starting", extra={"queue": settings.rq_queue})
    worker.work(with_scheduler=True)


if __name__ == "__main__":
    main()
