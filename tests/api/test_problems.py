"""Every error of the API is an RFC 9457 problem document."""

from __future__ import annotations

PROBLEM = "application/problem+json"


def test_unknown_route_is_a_problem(client):
    response = client.get("/api/v1/nowhere", headers={"X-Request-ID": "phone-retry-0001"})
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert response.get_json() == {
        "type": "/problems/not-found",
        "title": "Not Found",
        "status": 404,
        "detail": response.get_json()["detail"],
        "instance": "/api/v1/nowhere",
        "request_id": "phone-retry-0001",
    }
    assert response.headers["X-Request-ID"] == "phone-retry-0001"


def test_wrong_method_names_the_allowed_ones(client):
    response = client.put("/api/v1/auth/token", json={})
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_a_400_problem(client):
    response = client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 400


def test_non_object_json_body_is_a_422_problem(client):
    response = client.post("/api/v1/auth/token", json=["a", "b"])
    assert response.status_code == 422
    assert response.mimetype == PROBLEM


def test_odd_request_ids_are_replaced(client):
    response = client.get("/health", headers={"X-Request-ID": "<script>"})
    assert response.headers["X-Request-ID"] != "<script>"
    assert len(response.headers["X-Request-ID"]) == 32


def test_a_body_over_the_server_limit_is_the_same_413_problem_as_the_domain_one(app, client):
    # werkzeug refuses on Content-Length alone, before reading the (here tiny) body.
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post(
        "/api/v1/auth/token", json={}, environ_overrides={"CONTENT_LENGTH": str(limit + 1)}
    )
    assert response.status_code == 413
    assert response.mimetype == PROBLEM
    assert response.get_json() == {
        "type": "/problems/too-large",
        "title": "Payload too large",
        "status": 413,
        "detail": f"the request body is larger than the {limit} bytes this server accepts",
        "instance": "/api/v1/auth/token",
        "request_id": response.headers["X-Request-ID"],
        "limit": limit,
        "unit": "bytes",
    }
