"""CORS for WebView and hybrid apps: the configured origins (CORS_ORIGINS) may call the API and
read the headers sync and tus need; preflights need no token; other origins get no CORS
headers at all, and neither does anyone when no origin is configured."""

from __future__ import annotations

from dataclasses import replace

import pytest

from server.actor import Role
from tests.factories import UserFactory

ALLOWED = "capacitor://localhost"
OTHER_ALLOWED = "https://app.example.cn"
STRANGER = "https://evil.example"
EXPOSED = {
    "location",
    "upload-offset",
    "upload-length",
    "upload-metadata",
    "upload-expires",
    "tus-resumable",
    "tus-version",
    "tus-max-size",
    "tus-extension",
    "tus-checksum-algorithm",
    "etag",
    "x-request-id",
    "x-pagination",
}
PHONE_HEADERS = (
    "Authorization, Content-Type, If-Match, If-None-Match, Tus-Resumable, Upload-Length, "
    "Upload-Offset, Upload-Metadata, Upload-Checksum, X-HTTP-Method-Override, X-Request-ID"
)


@pytest.fixture(scope="module")
def cors_client(settings, db):
    from server.app import create_app

    app = create_app(replace(settings, cors_origins=(ALLOWED, OTHER_ALLOWED)))
    app.config["TESTING"] = True
    return app.test_client()


def _names(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


def _cors_headers(response) -> dict:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def _preflight(client, path, method, origin=ALLOWED, headers=PHONE_HEADERS):
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize(
    "path, method",
    [
        ("/api/v1/sync/push", "POST"),
        ("/api/v1/me", "GET"),
        ("/api/v1/enterprises/0123456789abcdef01234567", "PATCH"),
        ("/api/v1/uploads", "POST"),
        ("/api/v1/uploads/some-upload", "PATCH"),
        ("/api/v1/uploads/some-upload", "HEAD"),
    ],
)
def test_a_preflight_from_an_allowed_origin_needs_no_token(cors_client, db, path, method):
    response = _preflight(cors_client, path, method)
    assert response.status_code in (200, 204)
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert method.lower() in _names(response.headers["Access-Control-Allow-Methods"])
    assert _names(response.headers["Access-Control-Allow-Headers"]) == _names(PHONE_HEADERS)
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in response.headers  # bearer tokens only
    assert "Origin" in response.headers.get("Vary", "")


def test_an_actual_request_from_an_allowed_origin_may_read_the_sync_and_tus_headers(
    cors_client, auth_headers
):
    headers = {**auth_headers(UserFactory(role=Role.ADMIN.value)), "Origin": OTHER_ALLOWED}
    response = cors_client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == OTHER_ALLOWED
    assert _names(response.headers["Access-Control-Expose-Headers"]) == EXPOSED
    assert "Origin" in response.headers["Vary"]


def test_a_problem_answer_carries_the_cors_headers_too(cors_client, db):
    # Otherwise the app could not read why it was refused.
    response = cors_client.get("/api/v1/me", headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert _names(response.headers["Access-Control-Expose-Headers"]) == EXPOSED


def test_tus_discovery_answers_an_allowed_origin_without_a_token(cors_client, db):
    response = cors_client.options("/api/v1/uploads", headers={"Origin": ALLOWED})
    assert response.status_code == 204
    assert response.headers["Tus-Version"]
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_another_origin_gets_no_cors_headers(cors_client, auth_headers):
    assert _cors_headers(_preflight(cors_client, "/api/v1/sync/push", "POST", STRANGER)) == {}
    headers = {**auth_headers(UserFactory(role=Role.ADMIN.value)), "Origin": STRANGER}
    assert _cors_headers(cors_client.get("/api/v1/me", headers=headers)) == {}
    # Nor a request without an Origin (not a browser's cross-origin call); caches are told.
    no_origin = cors_client.get("/health")
    assert _cors_headers(no_origin) == {}
    assert "Origin" in no_origin.headers["Vary"]


def test_no_origin_is_allowed_by_default(client, db):
    assert _cors_headers(_preflight(client, "/api/v1/sync/push", "POST")) == {}
    assert _cors_headers(client.get("/health", headers={"Origin": ALLOWED})) == {}
