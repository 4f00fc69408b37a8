"""`GET /api/v1/audit/public-key`: the verifying key at a stable URL, without authentication."""

from __future__ import annotations

import base64

from server.services.audit import signing


def test_the_public_key_is_served_without_authentication(client, settings):
    response = client.get("/api/v1/audit/public-key")
    assert response.status_code == 200
    body = response.get_json()
    key = signing.private_key(settings.audit_signing_key)
    assert body == {
        "key_id": signing.key_id(key),
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(signing.public_raw(key)).decode(),
        "pem": signing.public_pem(key),
    }
    # Both forms load as the verifier loads them, to the same key.
    for form in (body["pem"], body["public_key"]):
        assert signing.key_id(signing.load_public_key(form.encode())) == body["key_id"]


def test_the_operation_is_documented_as_public(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/audit/public-key"]["get"]
    assert operation["operationId"] == "getAuditPublicKey"
    assert operation["security"] == []
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("/AuditPublicKey")
