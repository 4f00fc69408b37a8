"""Users of every role; the password hash, tenancy anchors and the switch that disables them."""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    Document,
    IntField,
    ObjectIdField,
    StringField,
)

from server.actor import Actor, Role
from server.clock import utcnow
from server.models.audience import EVERYONE, Audience, Match, ScopedQuerySet

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
#: 4-40 printable characters without spaces (issuers mix digits, letters and 汉字).
ENFORCEMENT_CERTIFICATE_PATTERN = r"^\S{4,40}$"


_SELF = (Match("_id", "user_id"),)

#: Admins see all; supervisors their jurisdiction's people; managers their firm's; inspectors
#: and workers only themselves.
AUDIENCE = Audience(
    {
        Role.ADMIN: EVERYONE,
        Role.SUPERVISOR: (Match("jurisdiction_id", "jurisdiction_id"),),
        Role.ENTERPRISE_MANAGER: (Match("enterprise_id", "enterprise_id"),),
        Role.INSPECTOR: _SELF,
        Role.WORKER: _SELF,
    }
)


class User(Document):
    audience = AUDIENCE

    username = StringField(required=True, unique=True, regex=USERNAME_PATTERN)
    display_name = StringField(required=True, min_length=1, max_length=100)
    role = StringField(required=True, choices=[r.value for r in Role])
    password_hash = StringField(required=True)
    #: Set for every role but admin; for enterprise users it is their enterprise's.
    jurisdiction_id = ObjectIdField()
    #: Set for enterprise managers and workers.
    enterprise_id = ObjectIdField()
    #: Enforcement certificate number (执法证号) of a regulator, set by an admin: an order to
    #: rectify needs two inspectors who hold one (docs/domain.md, "Orders").
    enforcement_certificate = StringField(regex=ENFORCEMENT_CERTIFICATE_PATTERN)
    active = BooleanField(required=True, default=True)
    #: Set by a password reset: until the user chooses their own, a login only lets them do so.
    must_change_password = BooleanField(required=True, default=False)
    password_changed_at = DateTimeField()
    created_at = DateTimeField(required=True, default=utcnow)
    updated_at = DateTimeField(required=True, default=utcnow)
    version = IntField(required=True, default=1)

    meta = {"collection": "users", "queryset_class": ScopedQuerySet}

    def actor(self, device_id: str | None = None) -> Actor:
        """This user as the caller of a use case."""
        return Actor(
            user_id=self.id,
            role=Role(self.role),
            jurisdiction_id=self.jurisdiction_id,
            enterprise_id=self.enterprise_id,
            device_id=device_id,
        )
