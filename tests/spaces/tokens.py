"""Label tokens as a phone reads them (a printed QR decoded by zxing-cpp) and as a forger
handles them (their bytes, `server.services.spaces.labels`' format)."""

from __future__ import annotations

import base64
from datetime import date

import zxingcpp
from bson import ObjectId
from PIL import Image

from server.services.audit import signing
from server.services.spaces import labels
from tests.environment import AUDIT_KEY


def read_qr(image: Image.Image) -> list[str]:
    """The texts of the QR codes a phone camera reads in `image`."""
    return [r.text for r in zxingcpp.read_barcodes(image) if r.format == zxingcpp.QRCode]


def token_bytes(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=="))


def token_text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def forged(key_id: bytes, *, space_id: ObjectId, version: int, issued: date) -> str:
    """A label's token under the verifier's `key_id`, signed by a key it does not hold."""
    forger = labels.keys_from(signing.generate_seed_b64(), AUDIT_KEY)[0]
    raw = token_bytes(labels.sign(forger, space_id=space_id, version=version, issued=issued))
    raw[1:5] = key_id  # format byte, then the key id
    return token_text(raw)
