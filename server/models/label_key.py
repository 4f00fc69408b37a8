"""The label keys as published to phones: the Ed25519 public keys that verify confined-space
QR labels (server.services.spaces.labels), one document per key id, synced so that the app
verifies a label offline with keys it already holds.

The settings name the keys (`LABEL_SIGNING_KEYS`, or the one derived from the audit key);
server.services.spaces.label_keys writes them here. `signs` marks the key new labels are signed
with; a key the settings no longer name is `retired_at` (kept, never deleted: the phone must
learn that labels of that key are refused from then on).
"""

from __future__ import annotations

from mongoengine import BooleanField, DateTimeField, StringField

from server.actor import Role
from server.models.audience import EVERYONE, Audience
from server.models.synced import SyncedDocument

#: The roles that scan labels (workers and attendants, the enterprise's manager) and admins.
AUDIENCE = Audience({role: EVERYONE for role in (Role.ADMIN, Role.ENTERPRISE_MANAGER, Role.WORKER)})


class LabelKeyRecord(SyncedDocument):
    audience = AUDIENCE

    #: The key id as a label token carries it (hex of the first 4 bytes of SHA-256 of the
    #: raw public key).
    id = StringField(primary_key=True, regex=r"^[0-9a-f]{8}$")
    algorithm = StringField(required=True)
    #: The raw public key, base64.
    public_key = StringField(required=True)
    #: The key new labels are signed with (one at a time); the others only verify.
    signs = BooleanField(required=True, default=False)
    published_at = DateTimeField(required=True)
    #: When the settings stopped naming it: labels it signed are refused from then on.
    retired_at = DateTimeField(null=True)
    updated_at = DateTimeField(required=True)

    meta = {
        "collection": "label_keys",
        "indexes": ["sync_seq", {"fields": ["id", "sync_rev"], "unique": True}],
    }
