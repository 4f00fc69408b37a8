"""Logging in (`POST /api/v1/auth/token`) and out (`DELETE /api/v1/auth/token`), and `/me`."""

from __future__ import annotations

from datetime import timedelta

from flask.views import MethodView

from schemas.auth import (
    ChallengeRequestSchema,
    ChallengeSchema,
    RenewalSchema,
    TokenRequestSchema,
    TokenSchema,
)
from schemas.identity import PasswordChangeSchema, UserSchema
from server.api.blueprint import Blueprint
from server.api.context import client_ip, current_actor, current_token, current_user, services
from server.clock import utcnow
from server.services import auth, device_keys, identity, sessions

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
        issued = sessions.log_in(
            body["username"],
            body["password"],
            client_ip=client_ip(),
            throttle=svc.login_throttle,
            ttl=timedelta(hours=svc.settings.token_ttl_hours),
            now=now,
            device_id=body.get("device_id"),
            device_key=body.get("device_key"),
        )
        return _token(issued, now), 201, NO_STORE

    @blp.doc(operationId="logout")
    @blp.response(204)
    def delete(self):
        """Revoke the token of this request, on every API process at once."""
        auth.revoke(current_token(), actor=current_actor(), now=utcnow())


#: A bearer token must not be kept by any cache on the way (RFC 6749 §5.1).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token(issued: auth.IssuedToken, now) -> dict:
    return {
        "access_token": issued.token,
        "token_type": "Bearer",
        "expires_at": issued.expires_at,
        "expires_in": int((issued.expires_at - now).total_seconds()),
        "user": issued.user,
        "password_change_required": issued.user.must_change_password,
    }


@blp.route("/auth/renewal/challenge")
class RenewalChallenge(MethodView):
    @blp.doc(operationId="renewalChallenge", security=[])
    @blp.arguments(ChallengeRequestSchema)
    @blp.response(201, ChallengeSchema)
    def post(self, body):
        """A one-time challenge for a phone back from a long time offline to sign with its
        device key (bound at a password login)."""
        challenge, expires = device_keys.issue_challenge(body["device_id"], now=utcnow())
        message = device_keys.signed_message(body["device_id"], challenge).decode()
        return {"challenge": challenge, "expires_at": expires, "signed_message": message}


@blp.route("/auth/renewal")
class Renewal(MethodView):
    @blp.doc(operationId="renewToken", security=[])
    @blp.arguments(RenewalSchema)
    @blp.response(201, TokenSchema)
    def post(self, body):
        """A new bearer token for the device that signed the challenge; its queued work
        syncs on without a password (a revoked device, or a disabled user, cannot renew)."""
        now = utcnow()
        issued = sessions.renew(
            body["device_id"],
            body["challenge"],
            body["signature"],
            ttl=timedelta(hours=services().settings.token_ttl_hours),
            now=now,
        )
        return _token(issued, now), 201, NO_STORE


@blp.route("/auth/password")
class Password(MethodView):
    @blp.doc(operationId="changePassword")
    @blp.arguments(PasswordChangeSchema)
    @blp.response(204)
    def post(self, body):
        """Choose a new password, giving the current one (wrong guesses are throttled like
        logins). Every token of the account is revoked: log in again with the new one."""
        svc = services()
        identity.change_password(
            current_actor(choosing_password=True),
            current_user(),
            current_password=body["current_password"],
            new_password=body["new_password"],
            now=utcnow(),
            password_profile=svc.settings.password_hash_profile,
            throttle=svc.login_throttle,
            client_ip=client_ip(),
        )


@blp.route("/me")
class Me(MethodView):
    @blp.doc(operationId="getMe")
    @blp.response(200, UserSchema)
    def get(self):
        """The logged-in user."""
        return current_user()
