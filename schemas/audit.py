"""Response bodies of the audit log: the public key that verifies its signed chain heads."""

from __future__ import annotations

import marshmallow as ma


class AuditPublicKeySchema(ma.Schema):
    key_id = ma.fields.String(
        metadata={
            "description": "first 16 hex digits of SHA-256 of the raw public key; "
            "every signature names the key it was made with",
            "example": "56475aa75463474c",
        }
    )
    algorithm = ma.fields.String(metadata={"example": "Ed25519"})
    public_key = ma.fields.String(
        metadata={"description": "the 32 raw bytes of the Ed25519 public key, base64"}
    )
    pem = ma.fields.String(
        metadata={"description": "the same key as PEM (SubjectPublicKeyInfo), for the verifier"}
    )
