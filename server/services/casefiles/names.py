"""People and enterprises by id, as pages and case files print them (a display name, else the
username; an enterprise's name), read in one lookup per kind."""

from __future__ import annotations

from collections.abc import Iterable

from bson import ObjectId

from server.models.enterprise import Enterprise
from server.models.user import User


def people(ids: Iterable) -> dict[str, str]:
    """{str(user id): display name} of the users among `ids` (others are left out)."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    found = User._get_collection().find(
        {"_id": {"$in": wanted}}, {"display_name": 1, "username": 1}
    )
    return {str(u["_id"]): u.get("display_name") or u.get("username", "") for u in found}


def enterprises(ids: Iterable) -> dict[str, str]:
    """{str(enterprise id): name}."""
    wanted = _ids(ids)
    if not wanted:
        return {}
    found = Enterprise._get_collection().find({"_id": {"$in": wanted}}, {"name": 1})
    return {str(e["_id"]): e.get("name", "") for e in found}


def _ids(ids: Iterable) -> list[ObjectId]:
    out = []
    for value in ids:
        if isinstance(value, ObjectId):
            out.append(value)
        elif isinstance(value, str) and ObjectId.is_valid(value):
            out.append(ObjectId(value))
    return list(dict.fromkeys(out))
