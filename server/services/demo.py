"""The demo data `make run` seeds (README.md): one jurisdiction, enterprises A and B, one
user per role, and A's confined spaces (server.services.demo_spaces).

Idempotent (everything is looked up by its natural key first) and guarded: it writes only
into a database that this project created (marked in `_meta`), or one that is still empty,
unless the caller forces it.
"""

from __future__ import annotations

import logging
from datetime import datetime

from mongoengine.connection import get_db

from server.actor import Actor, Role
from server.config import Settings
from server.errors import Conflict
from server.models import keyed_reads
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.user import User
from server.services import demo_spaces, identity

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo12345"
ORIGIN_ID = "origin"
ORIGIN_MARK = "safety-inspection"

JURISDICTION = {"code": "310115", "name": "浦东新区应急管理局（临港新片区）"}
ENTERPRISES = {
    "A": {
        "name": "上海临港精密机械制造有限公司",
        "credit_code": "91310115MA1H7AAA0F",
        "industry": "机械",
        "industry_code": "C34",
        "address": "上海市浦东新区临港新片区新元南路 600 号",
        "location": [121.9236, 30.8994],
    },
    "B": {
        "name": "上海临港新材料科技有限公司",
        "credit_code": "91310115MA1H7BBB0D",
        "industry": "建材",
        "industry_code": "C30",
        "address": "上海市浦东新区临港新片区江山路 2800 号",
        "location": [121.8809, 30.9152],
    },
}
# (username, display name, role, enterprise key)
USERS = [
    ("admin", "系统管理员", Role.ADMIN, None),
    ("supervisor", "王监管", Role.SUPERVISOR, None),
    ("inspector", "李检查", Role.INSPECTOR, None),
    ("manager", "张安全（A 企业安全管理员）", Role.ENTERPRISE_MANAGER, "A"),
    ("worker", "赵作业（A 企业作业人员）", Role.WORKER, "A"),
    ("attendant", "钱监护（A 企业监护人）", Role.WORKER, "A"),
    ("manager-b", "孙安全（B 企业安全管理员）", Role.ENTERPRISE_MANAGER, "B"),
]


class ForeignDatabase(Conflict):
    """The database holds data this project did not create; seeding would mix into it."""


def claim_database(*, now: datetime, force: bool = False) -> None:
    """Mark the database as ours, refusing one that already holds someone else's data."""
    db = get_db()
    meta = db["_meta"]
    if meta.find_one({"_id": ORIGIN_ID, "created_by": ORIGIN_MARK}):
        return
    foreign = [
        name
        for name in db.list_collection_names()
        if name not in ("_meta", keyed_reads.ROOT) and db[name].estimated_document_count() > 0
    ]
    if foreign and not force:
        raise ForeignDatabase(
            f"database {db.name} holds data this project did not create "
            f"({', '.join(sorted(foreign)[:5])}); pass --force to seed it anyway"
        )
    meta.update_one(
        {"_id": ORIGIN_ID},
        {"$setOnInsert": {"created_by": ORIGIN_MARK, "created_at": now}},
        upsert=True,
    )


def seed_demo(
    *, now: datetime, password_profile: str, force: bool = False, settings: Settings | None = None
) -> dict:
    """Create whatever part of the demo is missing; returns what exists afterwards, and under
    `created` what this call added. With the service's settings (which sign the labels), also
    enterprise A's confined spaces, made ready for entry now (server.services.demo_spaces)."""
    claim_database(now=now, force=force)
    system = Actor(user_id=None, role=Role.ADMIN)
    created = []
    jurisdiction = Jurisdiction.objects(code=JURISDICTION["code"]).first()
    if jurisdiction is None:
        jurisdiction = identity.create_jurisdiction(system, now=now, **JURISDICTION)
        created.append(f"jurisdiction {JURISDICTION['code']}")
    enterprises = {}
    for key, fields in ENTERPRISES.items():
        found = Enterprise.objects(credit_code=fields["credit_code"]).first()
        if found is None:
            created.append(f"enterprise {key}")
        enterprises[key] = found or identity.create_enterprise(
            system, jurisdiction_id=jurisdiction.id, now=now, **fields
        )
    users = {}
    for username, display_name, role, enterprise_key in USERS:
        found = User.objects(username=username).first()
        if found is None:
            created.append(f"user {username}")
        users[username] = found or identity.create_user(
            system,
            username=username,
            password=DEMO_PASSWORD,
            display_name=display_name,
            role=role,
            now=now,
            password_profile=password_profile,
            jurisdiction_id=None if role is Role.ADMIN else jurisdiction.id,
            enterprise_id=enterprises[enterprise_key].id if enterprise_key else None,
        )
    spaces = None
    if settings is not None:
        spaces = demo_spaces.seed_spaces(enterprises["A"], users, settings, now=now)
    total = 1 + len(ENTERPRISES) + len(USERS)
    outcome = {0: "present", total: "created"}.get(len(created), "completed")
    log.info(f"demo data {outcome}", extra={"added": created, "users": sorted(users)})
    return {
        "jurisdiction": jurisdiction,
        "enterprises": enterprises,
        "users": users,
        "spaces": spaces,
        "created": created,
    }
