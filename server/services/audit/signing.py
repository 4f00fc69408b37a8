"""Ed25519 keys of the audit log and signatures of chain heads; no database, so the verifier
uses it as it is.

The private key is the base64 of the 32-byte Ed25519 seed (setting `AUDIT_SIGNING_KEY`). A
signed head says "event `n` of `chain` has hash `hash`", at `signed_at`, by key `key_id` (the
first 16 hex digits of SHA-256 of the raw public key). What is signed is the canonical JSON of
exactly those fields plus a type tag, so a signature cannot be replayed as anything else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from server.services.audit import canonical

ALGORITHM = "Ed25519"
#: Type tag inside every signed head: a version of this format, and a domain separator.
HEAD_TYPE = "safety-audit-head/1"
SEED_BYTES = 32


def generate_seed_b64() -> str:
    """A new private key as `AUDIT_SIGNING_KEY` takes it."""
    return base64.b64encode(os.urandom(SEED_BYTES)).decode("ascii")


def private_key(seed_b64: str) -> Ed25519PrivateKey:
    """The key of an `AUDIT_SIGNING_KEY` value; ValueError when it is not 32 bytes of base64."""
    try:
        seed = base64.b64decode(seed_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not base64") from None
    if len(seed) != SEED_BYTES:
        raise ValueError(f"decodes to {len(seed)} bytes, not {SEED_BYTES}")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of the public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as a PEM SubjectPublicKeyInfo block (what `--public-key` reads)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_raw(key)).hexdigest()[:16]


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """A public key from a file's bytes: PEM, or base64 of the 32 raw bytes (as published)."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        loaded = serialization.load_pem_public_key(text)
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 key")
        return loaded
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("neither PEM nor base64") from None
    if len(raw) != 32:
        raise ValueError(f"a raw Ed25519 public key has 32 bytes, not {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def head_message(chain: str, n: int, hash: str, signed_at, key: str) -> bytes:
    """The bytes a head signature covers. `signed_at` is a datetime or its canonical text."""
    return canonical.dumps(
        {
            "type": HEAD_TYPE,
            "chain": chain,
            "n": n,
            "hash": hash,
            "signed_at": signed_at,
            "key_id": key,
        }
    )


def sign_head(
    key: Ed25519PrivateKey, *, chain: str, n: int, hash: str, signed_at: datetime
) -> dict:
    """A signature of head `n` of `chain`, as stored and exported (without `_id`)."""
    kid = key_id(key)
    signature = key.sign(head_message(chain, n, hash, signed_at, kid))
    return {
        "chain": chain,
        "n": n,
        "hash": hash,
        "signed_at": signed_at,
        "key_id": kid,
        "signature": base64.b64encode(signature).decode("ascii"),
    }


def verify_head(public: Ed25519PublicKey, head: dict) -> bool:
    """Whether `head` (a stored or exported signature) was signed by `public` as it reads."""
    try:
        signature = base64.b64decode(head["signature"], validate=True)
        message = head_message(
            head["chain"], head["n"], head["hash"], head["signed_at"], head["key_id"]
        )
        public.verify(signature, message)
    except (InvalidSignature, binascii.Error, ValueError, KeyError, TypeError):
        return False
    return head["key_id"] == key_id(public)
