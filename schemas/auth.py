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


class TokenSchema(ma.Schema):
    access_token = ma.fields.String()
    token_type = ma.fields.String(metadata={"example": "Bearer"})
    expires_at = Timestamp()
    expires_in = ma.fields.Integer(metadata={"description": "seconds until expiry"})
    user = ma.fields.Nested(UserSchema)
