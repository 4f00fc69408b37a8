"""Signing chain heads: the periodic job (`server.jobs.audit.sign_audit_heads`) and the CLI
(`audit-sign`) sign the last event of every chain that grew since its last signature.

Before signing, the events appended since the last signed head are checked (hashes and links
recomputed): the signer vouches only for a chain that extends what it signed before. A chain
that fails the check is not signed and is reported (logged as an error, and the job fails so
the failure stays visible in RQ's failed registry); the other chains are signed regardless.

`audit_signed` keeps, per chain, the highest number signed (`$max`, so two signers running at
once never move it back); it only says where the next check starts. The signatures themselves
are in `audit_signatures`, keyed like the events they sign.
"""

from __future__ import annotations

import logging
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from server.services.audit import canonical, signing
from server.services.audit import chain as chains

log = logging.getLogger(__name__)

#: `{_id: chain, n: highest signed number}`: where the next check of a chain starts.
SIGNED = "audit_signed"


def sign_heads(db: Database, key: Ed25519PrivateKey, *, now: datetime) -> dict:
    """Sign the head of every chain that moved; returns `{"signed": [...], "broken": [...]}`
    (signed: `{chain, n}`; broken: `{chain, error}`)."""
    signed, broken = [], []
    for name in chains.chains(db):
        try:
            head = sign_head(db, key, name, now=now)
        except chains.ChainBroken as exc:
            log.error("audit chain broken: not signed", extra={"chain": name, "error": str(exc)})
            broken.append({"chain": name, "error": str(exc)})
            continue
        if head is not None:
            signed.append({"chain": name, "n": head["n"]})
    return {"signed": signed, "broken": broken}


def sign_head(db: Database, key: Ed25519PrivateKey, chain: str, *, now: datetime) -> dict | None:
    """Sign the head of one chain unless it is signed already; the signature, or None."""
    n = chains.head(db, chain)
    if n == 0 or db[chains.SIGNATURES].find_one({"_id": chains.event_id(chain, n)}, {"_id": 1}):
        return None
    last = (db[SIGNED].find_one({"_id": chain}) or {}).get("n", 0)
    prev = None
    if last:
        signature = db[chains.SIGNATURES].find_one({"_id": chains.event_id(chain, last)})
        signed = db[chains.EVENTS].find_one({"_id": chains.event_id(chain, last)})
        if (
            signature is None
            or signed is None
            or canonical.event_hash(signed) != signature["hash"]
            or signed["hash"] != signature["hash"]
        ):
            raise chains.ChainBroken(f"chain {chain}: event {last} differs from its signature")
        prev = signature["hash"]
    chains.check(db, chain, last + 1, n, prev)
    event = db[chains.EVENTS].find_one({"_id": chains.event_id(chain, n)}, {"hash": 1})
    head = signing.sign_head(key, chain=chain, n=n, hash=event["hash"], signed_at=now)
    try:
        db[chains.SIGNATURES].insert_one({"_id": chains.event_id(chain, n), **head})
    except DuplicateKeyError:
        return None  # another signer signed this head meanwhile
    db[SIGNED].update_one({"_id": chain}, {"$max": {"n": n}}, upsert=True)
    # A copy outside the database: log collectors keep signed heads a database writer
    # cannot reach, for auditors who want checkpoints (`verify --checkpoint`).
    log.info("audit head signed", extra={"signed_head": canonical.plain(head)})
    return head
