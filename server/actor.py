"""Who is acting: the authenticated user reduced to what scoping and permission rules need.

The view resolves the actor from the bearer token and passes it down; nothing below the HTTP
layer looks up a "current user" on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bson import ObjectId


class Role(StrEnum):
    """The five roles (README.md, "Who uses it": what each does and sees)."""

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    INSPECTOR = "inspector"
    ENTERPRISE_MANAGER = "enterprise_manager"
    WORKER = "worker"


#: Roles that belong to a regulator's jurisdiction (they see its enterprises).
REGULATOR_ROLES = frozenset({Role.SUPERVISOR, Role.INSPECTOR})
#: Roles that belong to one enterprise (they see only that enterprise).
ENTERPRISE_ROLES = frozenset({Role.ENTERPRISE_MANAGER, Role.WORKER})


@dataclass(frozen=True)
class Actor:
    """The caller of a use case. `jurisdiction_id` is set for every role but admin."""

    user_id: ObjectId
    role: Role
    jurisdiction_id: ObjectId | None = None
    enterprise_id: ObjectId | None = None
    device_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_regulator(self) -> bool:
        return self.role in REGULATOR_ROLES

    @property
    def is_enterprise_user(self) -> bool:
        return self.role in ENTERPRISE_ROLES
