"""Users of every role; the password hash, tenancy anchors and the switch that disables them."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    Document,
    IntField,
    ObjectIdField,
    QuerySet,
    StringField,
)

from server.actor import Actor, Role
from server.clock import utcnow

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"


class UserQuerySet(QuerySet):
    def for_actor(self, actor: Actor) -> QuerySet:
        """Admins see all; supervisors their jurisdiction's people; managers their firm's;
        inspectors and workers only themselves."""
        if actor.is_admin:
            return self
        if actor.role is Role.SUPERVISOR:
            return self.filter(jurisdiction_id=actor.jurisdiction_id)
        if actor.role is Role.ENTERPRISE_MANAGER:
            return self.filter(enterprise_id=actor.enterprise_id)
        return self.filter(id=actor.user_id)


class User(Document):
    username = StringField(required=True, unique=True, regex=USERNAME_PATTERN)
    display_name = StringField(required=True, min_length=1, max_length=100)
    role = StringField(required=True, choices=[r.value for r in Role])
    password_hash = StringField(required=True)
    #: Set for every role but admin; for enterprise users it is their enterprise's.
    jurisdiction_id = ObjectIdField()
    #: Set for enterprise managers and workers.
    enterprise_id = ObjectIdField()
    active = BooleanField(required=True, default=True)
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)
    version = IntField(required=True, default=1)

    meta = {"collection": "users", "queryset_class": UserQuerySet}

    def actor(self, device_id: str | None = None) -> Actor:
        """This user as the caller of a use case."""
        return Actor(
            user_id=self.id,
            role=Role(self.role),
            jurisdiction_id=self.jurisdiction_id,
            enterprise_id=self.enterprise_id,
            device_id=device_id,
        )
