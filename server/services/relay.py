"""The outbox relay: hands the entries a request makes to the dispatcher on a thread of its
own, so that no request waits on Redis to queue them.

An entry is durable in MongoDB before it is handed over (server.services.outbox), so the hand
over is only a hint: what the relay has not passed on when its process dies, or what Redis
refused, the outbox sweep dispatches (a ready entry at its next run, a pending one once its
grace has passed). A request that used to make a Redis round trip per entry, and to wait for
Redis's socket timeout while Redis was slow, now puts ids on an in-memory queue.

The relay belongs to one process: after a fork (gunicorn's workers of a preloaded app) the
child starts a thread and a queue of its own, and the parent's ids stay the parent's.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Entries passed to the dispatcher in one call (the rest wait for the next round).
BATCH = 200
#: How long a process that ends waits for the relay to pass on what it holds.
EXIT_WAIT_S = 3.0
#: Ids held at most; while Redis hangs the oldest are let go (the sweep queues them), so a
#: long outage cannot grow the process's memory without bound.
MAX_WAITING = 20_000


class Relay:
    """`relay(ids)` returns at once; its thread calls `dispatch(ids)` soon after."""

    def __init__(self, dispatch: Callable[[list[str]], object]):
        self._dispatch = dispatch
        self._pid: int | None = None

    def __call__(self, ids: list[str]) -> None:
        if not ids:
            return
        self._own()
        with self._changed:
            self._waiting.extend(ids)
            self._changed.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every id handed over so far was passed to the dispatcher (tests, and a
        process that ends); False when `timeout` seconds were not enough."""
        if self._pid != os.getpid():
            return True  # nothing handed over in this process
        with self._changed:
            return self._changed.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def _own(self) -> None:
        """This process's queue and thread (a forked child does not inherit a live thread)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._waiting: deque[str] = deque(maxlen=MAX_WAITING)
        self._busy = False
        self._changed = threading.Condition()
        threading.Thread(target=self._run, name="outbox-relay", daemon=True).start()
        # A process that ends normally passes on what it holds; after a crash the sweep does.
        atexit.register(self.flush, EXIT_WAIT_S)

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._waiting)
                batch = [self._waiting.popleft() for _ in range(min(BATCH, len(self._waiting)))]
                self._busy = True
            try:
                self._dispatch(batch)
            except Exception:  # noqa: BLE001 - the entries are safe in MongoDB; the sweep has them
                log.exception("outbox relay could not dispatch", extra={"entries": len(batch)})
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
