"""Logging in (`POST /api/v1/auth/token`) and out (`DELETE /api/v1/auth/token`), and `/me`."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from schemas.auth import TokenRequestSchema, TokenSchema
from schemas.identity import UserSchema
from server.api.blueprint import Blueprint
from server.api.context import client_ip, current_token, current_user, services
from server.clock import utcnow
from server.services import auth

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Log in and out")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.doc(operationId="login", security=[])
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    def post(self, body):
        """Exchange username and password for a bearer token (failed attempts are throttled)."""
        svc = services()
        now = utcnow()
        issued = auth.issue_token(
            body["username"],
            body["password"],
            client_ip=client_ip(),
            throttle=svc.login_throttle,
            ttl=timedelta(hours=svc.settings.token_ttl_hours),
            now=now,
            device_id=body.get("device_id"),
        )
        return {
            "access_token": issued.token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at,
            "expires_in": int((issued.expires_at - now).total_seconds()),
            "user": issued.user,
        }

    @blp.doc(operationId="logout")
    @blp.response(204)
    def delete(self):
        """Revoke the token of this request, on every API process at once."""
        auth.revoke(current_token(), now=utcnow())


@blp.route("/me")
class Me(MethodView):
    @blp.doc(operationId="getMe")
    @blp.response(200, UserSchema)
    def get(self):
        """The logged-in user."""
        return current_user()
