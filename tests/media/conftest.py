"""Fixtures of the media tests: users of each role in two tenants, link kinds resolved like
the owners of inspections and hazards will, and an upload-ready blob store."""

from __future__ import annotations

import pytest

from media import links
from media.blobstore import BlobStore
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
    """Jurisdiction with enterprise A (and B elsewhere) and a user of every role."""
    j = JurisdictionFactory()
    a = EnterpriseFactory(jurisdiction_id=j.id, name="上海某机械有限公司")
    b = EnterpriseFactory()
    users = {
        "inspector": regulator(Role.INSPECTOR, j, display_name="张检查"),
        "inspector2": regulator(Role.INSPECTOR, j, display_name="李检查"),
        "supervisor": regulator(Role.SUPERVISOR, j),
        "manager": enterprise_user(Role.ENTERPRISE_MANAGER, a),
        "manager_b": enterprise_user(Role.ENTERPRISE_MANAGER, b),
        "worker": enterprise_user(Role.WORKER, a),
    }
    users["admin"] = UserFactory(role=Role.ADMIN.value)
    return {
        "enterprise": a,
        "other_enterprise": b,
        "users": users,
        "headers": {name: auth_headers(u) for name, u in users.items()},
    }


@pytest.fixture
def hazards(world):
    """`finding` links (a stand-in kind no wiring registers, so the service's own kinds stay
    as wired) resolve like a register would: ids `h-*` belong to enterprise A, visible to its
    jurisdiction's regulators and to A's own users; `x-*` to another tenant (nobody here may
    see them)."""
    a = world["enterprise"]

    def resolve(actor, link_id):
        if not link_id.startswith("h-"):
            return None
        if (
            actor.is_admin
            or actor.jurisdiction_id == a.jurisdiction_id
            and (actor.is_regulator or actor.enterprise_id == a.id)
        ):
            return links.LinkTarget(enterprise_id=a.id)
        return None

    links.register_link_kind("finding", resolve)
    yield resolve
    links.unregister_link_kind("finding")


@pytest.fixture
def store(db):
    return BlobStore(db)
