"""Bearer tokens: only their SHA-256 is stored, so a leaked database reveals no usable token.

A token is valid while it is neither expired nor revoked and its user is active; logout and
disabling the user revoke it on the server.
"""

from __future__ import annotations

from mongoengine import DateTimeField, Document, ObjectIdField, StringField

from server.clock import utcnow


class AuthToken(Document):
    #: SHA-256 hex of the bearer token; unique, so lookups use the index on every server.
    token_hash = StringField(required=True, unique=True)
    user_id = ObjectIdField(required=True)
    device_id = StringField()
    created_at = DateTimeField(required=True, default=utcnow)
    expires_at = DateTimeField(required=True)
    revoked_at = DateTimeField()

    meta = {"collection": "auth_tokens"}
