"""Signed QR labels of confined spaces: the token, its signature and its verification, as pure
functions (no database, no clock), so the server, the phone's offline check and the tests run
the very same code.

A label carries the URL `{PUBLIC_URL}/s/{token}`. The token is base64url (no padding) of a
compact binary record, 85 bytes, 114 characters:

    offset  size  field
    0       1     format (1)
    1       4     key id: the first 4 bytes of SHA-256 of the signing key's raw public key
    5       12    space id (the ObjectId's bytes)
    17      2     label version, big-endian (1, 2, ... ; a new label retires the older ones)
    19      2     issue date, days since 2024-01-01, big-endian
    21      64    Ed25519 signature of DOMAIN + bytes 0..20

The domain tag makes a label signature useless as any other signature of the same key. A
label is static and is scanned again and again: what verification refuses is a forged or
altered token (bad signature, unknown key, malformed), a label version the ledger has rotated
out, and a token of one space presented for another. Replayed scan *requests* are refused by
the scan endpoint's nonce, not here.

Label keys (`keys_from`) are `LABEL_SIGNING_KEYS` (base64 Ed25519 seeds, comma-separated; the
first signs, the others still verify labels already printed), or, when that is unset, one key
derived from `AUDIT_SIGNING_KEY` with HKDF-SHA256 under its own label: generated once with the
audit key, a different key (a leaked label key reveals nothing of the audit key), published at
`GET /api/v1/spaces/label-keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
import threading
from dataclasses import dataclass, field
from datetime import date, timedelta

from bson import ObjectId
from cachetools import LRUCache, cached
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from server.services.audit import signing

FORMAT = 1
DOMAIN = b"safety-space-label/1\x00"
#: Day 0 of the issue date field.
EPOCH = date(2024, 1, 1)
_B64URL = re.compile(r"[A-Za-z0-9_-]{1,200}")
_HEAD = struct.Struct(">B4s12sHH")
SIGNATURE_BYTES = 64
TOKEN_BYTES = _HEAD.size + SIGNATURE_BYTES
#: Where the worker page of a label lives, below PUBLIC_URL.
PATH = "/s/"
#: HKDF info of the label key derived from the audit key.
DERIVED_INFO = b"safety-space-label-key/1"


class LabelError(ValueError):
    """A token that does not pass; `code` says why (LABEL_REASONS)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


#: Why a token is refused: (code, zh-CN, en). The scan's QR_INVALID reason carries one of them.
MALFORMED = "LABEL_MALFORMED"
UNKNOWN_KEY = "LABEL_UNKNOWN_KEY"
FORGED = "LABEL_FORGED"
ROTATED = "LABEL_ROTATED"
OTHER_SPACE = "LABEL_OTHER_SPACE"
LABEL_REASONS = {
    MALFORMED: ("二维码内容无法识别", "the QR content is not a label token"),
    UNKNOWN_KEY: ("二维码签名密钥未知", "the label was signed by an unknown key"),
    FORGED: (
        "二维码签名无效（伪造或被篡改）",
        "the label's signature is invalid (forged or altered)",
    ),
    ROTATED: ("该标签已作废，请使用新标签", "this label was replaced by a newer one"),
    OTHER_SPACE: ("该标签属于另一个有限空间", "this label belongs to another confined space"),
}


@dataclass(frozen=True)
class Label:
    """What a verified token says."""

    key_id: bytes
    space_id: ObjectId
    version: int
    issued: date


@dataclass(frozen=True)
class LabelKey:
    """A label key: the private half where the server signs, or only the public half."""

    public: Ed25519PublicKey
    private: Ed25519PrivateKey | None = None
    #: The raw public key, read once (it names the key in the signature cache).
    raw: bytes = field(init=False, repr=False, compare=False)
    key_id: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", signing.public_raw(self.public))
        object.__setattr__(self, "key_id", key_id(self.public))


def key_id(public: Ed25519PublicKey) -> bytes:
    """First 4 bytes of SHA-256 of the raw public key."""
    return hashlib.sha256(signing.public_raw(public)).digest()[:4]


def derived_key(audit_seed_b64: str) -> Ed25519PrivateKey:
    """The label key derived from the audit key (HKDF-SHA256, its own info string)."""
    seed = base64.b64decode(audit_seed_b64.strip(), validate=True)
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=DERIVED_INFO)
    return Ed25519PrivateKey.from_private_bytes(hkdf.derive(seed))


def keys_from(label_signing_keys: str, audit_signing_key: str) -> tuple[LabelKey, ...]:
    """The label keys of the settings, the signing one first (see the module docstring)."""
    seeds = [s.strip() for s in label_signing_keys.split(",") if s.strip()]
    privates = (
        [signing.private_key(s) for s in seeds] if seeds else [derived_key(audit_signing_key)]
    )
    return tuple(LabelKey(p.public_key(), p) for p in privates)


def public_keys(keys: tuple[LabelKey, ...]) -> list[dict]:
    """The keys as published (and as a phone stores them for offline verification)."""
    return [
        {
            "key_id": k.key_id.hex(),
            "algorithm": signing.ALGORITHM,
            "public_key": base64.b64encode(signing.public_raw(k.public)).decode("ascii"),
            "signs": i == 0,
        }
        for i, k in enumerate(keys)
    ]


def sign(key: LabelKey, *, space_id: ObjectId, version: int, issued: date) -> str:
    """The token of label `version` of a space, issued on `issued` (deterministic: Ed25519
    signatures are, so the same label renders the same QR every time)."""
    if key.private is None:
        raise ValueError("a public key cannot sign")
    days = (issued - EPOCH).days
    if not 0 < version < 1 << 16 or not 0 <= days < 1 << 16:
        raise ValueError("label version or issue date out of range")
    head = _HEAD.pack(FORMAT, key.key_id, ObjectId(space_id).binary, version, days)
    return _b64(head + key.private.sign(DOMAIN + head))


def verify(
    token: str,
    keys: tuple[LabelKey, ...],
    *,
    current_version: int | None = None,
    space_id: ObjectId | None = None,
) -> Label:
    """The label a token proves, or LabelError: malformed, unknown key, bad signature, a
    version other than `current_version` (rotated out), a space other than `space_id`."""
    label = _check_signature(token, keys)
    if space_id is not None and label.space_id != ObjectId(space_id):
        raise LabelError(OTHER_SPACE)
    if current_version is not None and label.version != current_version:
        raise LabelError(ROTATED)
    return label


@cached(
    LRUCache(maxsize=4096),
    key=lambda token, keys: (token, tuple(k.raw for k in keys)),
    lock=threading.Lock(),
)
def _check_signature(token: str, keys: tuple[LabelKey, ...]) -> Label:
    """The label whose signature verifies under one of `keys`. The labels that verified are
    kept per process (4,096 of them, a few hundred bytes each): a label is static and scanned
    again and again, and this check is most of a verification's cost. A refusal is an
    exception and is never kept (a flood of forged tokens evicts nothing), and the keys' raw
    bytes are part of what is kept, so a token is never taken as verified by other keys."""
    raw = _unb64(token)
    if raw is None or len(raw) != TOKEN_BYTES or raw[0] != FORMAT:
        raise LabelError(MALFORMED)
    head, signature = raw[: _HEAD.size], raw[_HEAD.size :]
    _format, kid, oid, version, days = _HEAD.unpack(head)
    key = next((k for k in keys if k.key_id == kid), None)
    if key is None:
        raise LabelError(UNKNOWN_KEY)
    try:
        key.public.verify(signature, DOMAIN + head)
    except InvalidSignature:
        raise LabelError(FORGED) from None
    return Label(kid, ObjectId(oid), version, EPOCH + timedelta(days=days))


def url(public_url: str, token: str) -> str:
    """What the QR encodes."""
    return public_url.rstrip("/") + PATH + token


def token_of(text: str) -> str:
    """The token in a scanned QR text: the full label URL, or a bare token."""
    _, found, tail = text.rpartition(PATH)
    return tail if found else text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes | None:
    """The bytes of a canonical base64url text (one text per byte string), else None."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64(raw) == text else None
