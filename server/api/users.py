"""`/api/v1/users`: people of every role, created and disabled within the caller's scope."""

from __future__ import annotations

from flask.views import MethodView

from schemas.identity import PasswordResetSchema, UserCreateSchema, UserSchema, UserUpdateSchema
from server.api.blueprint import Blueprint
from server.api.context import current_actor, settings
from server.api.paging import QuerySetPage
from server.clock import utcnow
from server.models.scoping import get_or_404
from server.models.user import User
from server.services import identity

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Users")


@blp.route("/users")
class Users(MethodView):
    @blp.doc(operationId="listUsers")
    @blp.response(200, UserSchema(many=True))
    @blp.paginate(QuerySetPage)
    def get(self):
        """Users the caller may see."""
        return User.objects.for_actor(current_actor()).order_by("username")

    @blp.doc(operationId="createUser")
    @blp.arguments(UserCreateSchema)
    @blp.response(201, UserSchema)
    def post(self, body):
        """Create a user (admin; supervisor in their jurisdiction; manager: workers)."""
        return identity.create_user(
            current_actor(),
            now=utcnow(),
            password_profile=settings().password_hash_profile,
            **body,
        )


@blp.route("/users/<user_id>")
class UserById(MethodView):
    @blp.doc(operationId="getUser")
    @blp.etag
    @blp.response(200, UserSchema)
    def get(self, user_id):
        """One user in the caller's scope."""
        return get_or_404(User.objects.for_actor(current_actor()), user_id, "user")

    @blp.doc(operationId="updateUser")
    @blp.etag
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    def patch(self, body, user_id):
        """Rename or disable (revokes their tokens); `If-Match` required."""
        actor = current_actor()
        user = get_or_404(User.objects.for_actor(actor), user_id, "user")
        blp.check_etag(user, UserSchema)
        return identity.update_user(actor, user, now=utcnow(), **body)


@blp.route("/users/<user_id>/password-reset")
class PasswordReset(MethodView):
    @blp.doc(operationId="resetPassword")
    @blp.arguments(PasswordResetSchema)
    @blp.response(200, UserSchema)
    def post(self, body, user_id):
        """Give a user you manage a temporary password; they must replace it at their next
        login, and every token they hold is revoked."""
        actor = current_actor()
        user = get_or_404(User.objects.for_actor(actor), user_id, "user")
        return identity.reset_password(
            actor,
            user,
            temporary_password=body["temporary_password"],
            now=utcnow(),
            password_profile=settings().password_hash_profile,
        )
