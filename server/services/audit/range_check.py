"""Verifying a range of one chain on the server, for the review site's auditors and the case
files: the range is exported (server.services.audit.export) into a scratch directory and
checked by the stand-alone verifier (server.services.audit.verify), so what the site reports
is exactly what an auditor's own run of `python -m server.services.audit.verify` would say.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pymongo.database import Database

from server.errors import RuleViolation
from server.services.audit import chain as chains
from server.services.audit import export, verify


@dataclass(frozen=True)
class RangeResult:
    """The verifier's report on events `first`..`last` of `chain` (the head when asked)."""

    chain: str
    first: int
    last: int
    head: int
    report: verify.Report
    #: The first signed head at or after `last` (None: none yet), to extend the range to.
    next_signed: int | None


def check_range(
    db: Database, chain: str, first: int, last: int | None, public, *, now: datetime
) -> RangeResult:
    """Export events `first`..`last` of `chain` and verify them with `public` (a key or a
    list of keys); RuleViolation when the chain has no such events."""
    head = chains.head(db, chain)
    last = head if last is None else min(last, head)
    if head == 0 or not 1 <= first <= last:
        raise RuleViolation(
            f"chain {chain} has no events {first}..{last} (head: {head})",
            reasons=[{"code": "NO_SUCH_EVENTS", "chain": chain, "head": head}],
        )
    with tempfile.TemporaryDirectory(prefix="audit-range-") as scratch:
        out = Path(scratch) / "export"
        export.export_chain(db, chain, out, now=now, first=first, last=last)
        report = verify.verify(out, public)
    return RangeResult(chain, first, last, head, report, next_signed(db, chain, last))


def next_signed(db: Database, chain: str, n: int) -> int | None:
    """The number of the first signed head of `chain` at or after event `n`."""
    found = (
        db[chains.SIGNATURES]
        .find({"chain": chain, "n": {"$gte": n}}, {"n": 1})
        .sort("n", 1)
        .limit(1)
    )
    return next((d["n"] for d in found), None)
