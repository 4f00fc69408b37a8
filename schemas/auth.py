"""Request and response bodies of logging in and out."""

from __future__ import annotations

import marshmallow as ma

from schemas.common import RequestSchema, Timestamp
from schemas.identity import UserSchema
from server.models.device import DEVICE_ID_PATTERN


class TokenRequestSchema(RequestSchema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(1, 256))
    device_id = ma.fields.String(load_default=None, validate=ma.validate.Regexp(DEVICE_ID_PATTERN))
    device_key = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(40, 60),
        metadata={
            "description": "the phone's Ed25519 public key (base64 of 32 bytes), bound to "
            "device_id by this login; it renews access later without a password"
        },
    )


class ChallengeRequestSchema(RequestSchema):
    device_id = ma.fields.String(required=True, validate=ma.validate.Regexp(DEVICE_ID_PATTERN))


class ChallengeSchema(ma.Schema):
    challenge = ma.fields.String(metadata={"description": "sign it within expires_at"})
    expires_at = Timestamp()
    signed_message = ma.fields.String(
        metadata={
            "description": "what to sign: 'safety-device-renewal/1\n<device_id>\n"
            "<challenge>' (UTF-8), with the device's Ed25519 key"
        }
    )


class RenewalSchema(RequestSchema):
    device_id = ma.fields.String(required=True, validate=ma.validate.Regexp(DEVICE_ID_PATTERN))
    challenge = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    signature = ma.fields.String(
        required=True,
        validate=ma.validate.Length(1, 200),
        metadata={"description": "base64 Ed25519 signature of the signed message"},
    )


class TokenSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_at = Timestamp()
    expires_in = ma.fields.Integer(metadata={"description": "seconds until expiry"})
    user = ma.fields.Nested(UserSchema)
    password_change_required = ma.fields.Boolean(
        metadata={
            "description": "the password was reset: this token only lets the user "
            "choose a new one (POST /api/v1/auth/password) or log out"
        }
    )
