"""Shared helpers of the benchmark parts: settings for the servers `make bench` started,
timing, peak memory, and the one TARGET line each target ends with."""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable

from server.config import Settings


def bench_settings() -> Settings:
    uri, redis_url = os.environ.get("BENCH_MONGODB_URI"), os.environ.get("BENCH_REDIS_URL")
    if not uri or not redis_url:
        raise SystemExit("run benchmarks with `make bench` (it starts the servers)")
    return Settings.from_env(
        {},
        mongodb_uri=uri,
        redis_url=redis_url,
        secret_key="bench-secret-key-0123456789",
        audit_signing_key="YmVuY2gtYXVkaXQta2V5LTAxMjM0NTY3ODlhYmNkZWY=",
        log_level="WARNING",
        password_hash_profile="CHEAPEST",
    )


def timed(fn: Callable[[], object], repeat: int = 3) -> float:
    """Best wall-clock seconds of `repeat` runs (the least disturbed by a noisy machine)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def target(name: str, measured: float, op: str, limit: float) -> bool:
    """Print the TARGET line; True when met."""
    ok = measured <= limit if op == "<=" else measured >= limit
    print(f"TARGET {name} measured={measured:.3f} target={op}{limit} {'PASS' if ok else 'MISS'}")
    return ok
