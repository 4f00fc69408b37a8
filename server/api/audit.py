"""`GET /api/v1/audit/public-key`: the key that verifies the audit log's signed chain heads,
at a stable URL and without authentication, so auditors can fetch (and pin) it on their own."""

from __future__ import annotations

import base64

from flask.views import MethodView

from schemas.audit import AuditPublicKeySchema
from server.api.blueprint import Blueprint
from server.api.context import settings
from server.services.audit import signing

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="Audit log")


@blp.route("/audit/public-key")
class AuditPublicKey(MethodView):
    @blp.doc(operationId="getAuditPublicKey", security=[])
    @blp.response(200, AuditPublicKeySchema)
    def get(self):
        """The Ed25519 public key of the audit signatures (base64 raw and PEM)."""
        key = signing.private_key(settings().audit_signing_key)
        return {
            "key_id": signing.key_id(key),
            "algorithm": signing.ALGORITHM,
            "public_key": base64.b64encode(signing.public_raw(key)).decode("ascii"),
            "pem": signing.public_pem(key),
        }
