"""A jurisdiction with enterprises A (has confined spaces) and B, and a user of every role."""

from __future__ import annotations

import pytest

from server.actor import Role
from tests.factories import (
    EnterpriseFactory,
    JurisdictionFactory,
    UserFactory,
    enterprise_user,
    regulator,
)


@pytest.fixture
def world(db, auth_headers):
    j, j2 = JurisdictionFactory(), JurisdictionFactory()
    a = EnterpriseFactory(jurisdiction_id=j.id, has_confined_spaces=True)
    b = EnterpriseFactory(jurisdiction_id=j.id, has_confined_spaces=True)
    c = EnterpriseFactory(jurisdiction_id=j2.id, has_confined_spaces=True)
    users = {
        "admin": UserFactory(role=Role.ADMIN.value),
        "supervisor": regulator(Role.SUPERVISOR, j),
        "inspector": regulator(Role.INSPECTOR, j),
        "supervisor2": regulator(Role.SUPERVISOR, j2),
        "manager": enterprise_user(Role.ENTERPRISE_MANAGER, a),
        "worker": enterprise_user(Role.WORKER, a),
        "manager_b": enterprise_user(Role.ENTERPRISE_MANAGER, b),
    }
    return {
        "J": j,
        "J2": j2,
        "A": a,
        "B": b,
        "C": c,
        "users": users,
        "headers": {name: auth_headers(u) for name, u in users.items()},
    }
