"""RQ jobs of the audit log: appending a batch of events (the outbox job `audit.append`) and
signing the chain heads that moved (periodic, server.jobs.worker)."""

from __future__ import annotations

from mongoengine.connection import get_db

from server.clock import utcnow
from server.config import Settings
from server.services.audit import heads, record, signing


def append_audit_events(events: list[dict], entry_id: str) -> dict:
    """Append an outbox entry's events to their chains (idempotent per event key)."""
    return record.append_batch(get_db(), events, entry_id=entry_id)


def sign_audit_heads() -> dict:
    """Sign the head of every chain that grew since its last signature; fails (visibly, in
    RQ's failed registry) when a chain is broken, after signing the others."""
    key = signing.private_key(Settings.from_env().audit_signing_key)
    result = heads.sign_heads(get_db(), key, now=utcnow())
    if result["broken"]:
        raise RuntimeError(f"audit chains broken, not signed: {result['broken']}")
    return result
