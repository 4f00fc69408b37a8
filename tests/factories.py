"""factory_boy factories: required fields only, no extra objects unless asked."""

from __future__ import annotations

import factory
from factory.mongoengine import MongoEngineFactory

from server.actor import Role
from server.models.enterprise import Enterprise
from server.models.jurisdiction import Jurisdiction
from server.models.user import User
from server.services.credit_code import check_character
from server.services.passwords import hash_password

PASSWORD = "correct-horse-battery"


def credit_code(n: int) -> str:
    base = f"913101{n:06d}AB12C"[:17]
    return base + check_character(base)


class JurisdictionFactory(MongoEngineFactory):
    class Meta:
        model = Jurisdiction

    code = factory.Sequence(lambda n: f"{310000 + n:06d}")
    name = factory.Sequence(lambda n: f"辖区 {n}")


class EnterpriseFactory(MongoEngineFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"企业 {n}")
    credit_code = factory.Sequence(credit_code)
    industry = "机械"
    address = "上海市浦东新区"
    jurisdiction_id = factory.LazyFunction(lambda: JurisdictionFactory().id)


class UserFactory(MongoEngineFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    display_name = factory.Sequence(lambda n: f"用户 {n}")
    role = Role.ADMIN.value
    password_hash = factory.LazyFunction(lambda: hash_password(PASSWORD, "CHEAPEST"))


def regulator(role: Role, jurisdiction: Jurisdiction, **kw) -> User:
    return UserFactory(role=role.value, jurisdiction_id=jurisdiction.id, **kw)


def enterprise_user(role: Role, enterprise: Enterprise, **kw) -> User:
    return UserFactory(
        role=role.value,
        enterprise_id=enterprise.id,
        jurisdiction_id=enterprise.jurisdiction_id,
        **kw,
    )
